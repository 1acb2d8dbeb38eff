# The client machine's C twin functions, included at the end of _fast.pyx (so they see
# its cdef helpers). Their pure-Python twins live in _pure_client.py, whose __all__
# lists the names both twins must expose; read that module's docstring first.
#
# plain_challenge scans the ASCII value in place (spans in fixed arrays, like
# verify_fast) and creates only the strings it returns. render_answer hashes straight
# from the arguments' UTF-8 and writes the whole header value into one new str.
# An auth-int body is hashed by _body_hex (_fast.pyx), as on the server's paths: on a
# CPU without SHA extensions a long SHA-256 body goes to hashlib, whose OpenSSL has
# vectorised rounds (a 1 KiB SDP body costs the portable SHA-256 more than all the rest
# of the answer); with SHA-NI the C path is faster (900 against 1,250 ns for 1 KiB here).

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE

from cpython.list cimport PyList_GET_ITEM
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE


cdef enum:
    # the fields plain_challenge returns, in tuple order after the kind
    _PC_REALM
    _PC_NONCE
    _PC_ALGORITHM
    _PC_QOP
    _PC_OPAQUE
    _PC_USERHASH
    _PC_FIELDS
    _PC_MAX_PARAMS = 64  # _pure_client.PLAIN_MAX_PARAMS


cdef inline int _pc_field(const char *p, Py_ssize_t n) noexcept nogil:
    if n == 3:
        if _ieq(p, n, b"qop", 3):
            return _PC_QOP
    elif n == 5:
        if _ieq(p, n, b"realm", 5):
            return _PC_REALM
        if _ieq(p, n, b"nonce", 5):
            return _PC_NONCE
    elif n == 6:
        if _ieq(p, n, b"opaque", 6):
            return _PC_OPAQUE
    elif n == 8:
        if _ieq(p, n, b"userhash", 8):
            return _PC_USERHASH
    elif n == 9:
        if _ieq(p, n, b"algorithm", 9):
            return _PC_ALGORITHM
    return -1


cdef object _plain_value(int kind, str value, Py_ssize_t max_length, Py_ssize_t max_params):
    """_pure_client.plain_challenge from the value on: the tuple, or None."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value), i, start, vstart, vend
    cdef const char *s
    cdef const char *quote
    cdef _text field[_PC_FIELDS]
    cdef _text name
    cdef _text names[_PC_MAX_PARAMS]   # every parameter name, for the duplicate check
    cdef int count = 0, k, fid
    cdef unsigned int seen = 0
    if n > max_length or not PyUnicode_IS_ASCII(value):
        return None  # non-ASCII never fits the plain grammar
    s = <const char *>PyUnicode_1BYTE_DATA(value)
    i = _skip(s, n, 0, C_OWS)
    start = i
    i = _skip(s, n, i, C_TCHAR)
    if not _ieq(s + start, i - start, b"digest", 6) or i == n or not _is(<unsigned char>s[i], C_OWS):
        return None
    i = _skip(s, n, i, C_OWS)
    while True:
        start = i
        i = _skip(s, n, i, C_TCHAR)
        if i == start:
            return None
        name.p = s + start
        name.n = i - start
        i = _skip(s, n, i, C_OWS)
        if i == n or s[i] != _EQUALS:
            return None
        i = _skip(s, n, i + 1, C_OWS)
        if i < n and s[i] == _DQUOTE:
            vstart = i + 1
            quote = <const char *>memchr(s + vstart, _DQUOTE, n - vstart)
            if quote == NULL:
                return None
            vend = quote - s
            if not _qdtext_span(<const unsigned char *>s + vstart, vend - vstart):
                return None
            i = vend + 1
        else:
            vstart = i
            i = _skip(s, n, i, C_UNQ)
            if i == vstart or s[vstart] == _EQUALS:
                return None
            vend = i
        if count == _PC_MAX_PARAMS:
            return None
        for k in range(count):
            if _same_name(names[k], name):
                return None
        names[count] = name
        count += 1
        fid = _pc_field(name.p, name.n)
        if fid >= 0:
            seen |= 1u << fid
            field[fid].p = s + vstart
            field[fid].n = vend - vstart
        i = _skip(s, n, i, C_OWS)
        if i == n:
            break
        if s[i] != _COMMA:
            return None
        i = _skip(s, n, i + 1, C_OWS)
    if count >= max_params or (seen & 3) != 3:  # the scheme counts as an item; realm, nonce
        return None
    return (kind, _pc_str(field, seen, _PC_REALM), _pc_str(field, seen, _PC_NONCE),
            _pc_str(field, seen, _PC_ALGORITHM), _pc_str(field, seen, _PC_QOP),
            _pc_str(field, seen, _PC_OPAQUE), _pc_str(field, seen, _PC_USERHASH))


# The str plain_challenge returned last for each field: a server sends the same realm,
# algorithm, qop (and often nonce and opaque) again and again, and an equal str given
# back is one the client has hashed before (dict keys) or can compare by identity. They
# are public challenge values, kept until the next challenge replaces them.
cdef list _pc_last = [None] * _PC_FIELDS


cdef inline object _field_str(const _text *field, unsigned int seen, int k):
    """The str of field k when it was seen, else None."""
    if seen & (1u << k):
        return _ascii(<const Py_UCS1 *>field[k].p, field[k].n, False)
    return None


cdef inline object _pc_str(const _text *field, unsigned int seen, int k):
    """plain_challenge's field k (k < _PC_FIELDS) as _field_str gives it, but the str
    returned last for that field when the new one is equal."""
    cdef object last, out
    cdef Py_ssize_t n
    if not (seen & (1u << k)):
        return None
    n = field[k].n
    last = <object>PyList_GET_ITEM(_pc_last, k)
    if (last is not None and PyUnicode_GET_LENGTH(last) == n
            and memcmp(PyUnicode_1BYTE_DATA(last), field[k].p, n) == 0):
        return last
    out = _ascii(<const Py_UCS1 *>field[k].p, n, False)
    _pc_last[k] = out
    return out


cdef inline int _challenge_kind(str name) noexcept:
    """0 for WWW-Authenticate, 1 for Proxy-Authenticate (ASCII, any case), else -1: what
    ``_KINDS.get(name.lower())`` finds (no other character lower-cases into these)."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(name)
    cdef const char *p
    if not PyUnicode_IS_ASCII(name):
        return -1
    p = <const char *>PyUnicode_1BYTE_DATA(name)
    if n == 16:
        return 0 if _ieq(p, n, b"www-authenticate", 16) else -1
    return 1 if _ieq(p, n, b"proxy-authenticate", 18) else -1


def plain_challenge(headers, max_length, max_params):
    """The one Digest challenge of ``headers`` when it has the plain shape, else None."""
    cdef Py_ssize_t lim_length = _limit(max_length)
    cdef Py_ssize_t lim_params = _limit(max_params)
    cdef Py_ssize_t n
    cdef int kind = -1, k
    cdef object item, name, field, value = None
    if type(headers) is not list and type(headers) is not tuple:
        return None
    for item in headers:
        # ``for name, field in headers`` and ``len(name)``, a failure giving None
        if type(item) is tuple and PyTuple_GET_SIZE(item) == 2:
            name = <object>PyTuple_GET_ITEM(item, 0)
            field = <object>PyTuple_GET_ITEM(item, 1)
        else:
            try:
                name, field = item
            except (TypeError, ValueError):
                return None
        if type(name) is str:
            n = PyUnicode_GET_LENGTH(name)
        else:
            try:
                n = len(name)
            except (TypeError, ValueError):
                return None
        if n == 16 or n == 18:
            if type(name) is not str:
                return None
            k = _challenge_kind(<str>name)
            if k >= 0:
                if kind >= 0:
                    return None
                kind = k
                value = field
    if kind < 0 or type(value) is not str:
        return None
    return _plain_value(kind, <str>value, lim_length, lim_params)


cdef int _utf8(object o, _text *t) except -1:
    """A str argument's UTF-8 (UnicodeEncodeError for a lone surrogate, as str.encode)."""
    t.p = PyUnicode_AsUTF8AndSize(o, &t.n)
    return -1 if t.p == NULL else 0


cdef inline Py_ssize_t _quoted_extra(const char *p, Py_ssize_t n) noexcept nogil:
    """How many backslashes quoting p[:n] adds (one per '"' and per '\\')."""
    cdef Py_ssize_t k, extra = 0
    for k in range(n):
        if p[k] == _DQUOTE or p[k] == _BSLASH:
            extra += 1
    return extra


_RENDER_ARGS = ("ha1", "method", "uri", "nonce", "nc", "cnonce", "start", "mid", "tail", "end")


def render_answer(hash_id, ha1, method, uri, nonce, nc, cnonce, qop, body, start, mid, tail,
                  end):
    """``start + quoted uri + ', response="' + digest + '"' + mid + cnonce + tail + nc + end``."""
    cdef int alg = _hash_id(hash_id)
    cdef int code = _qop_code(qop)
    cdef _text t_ha1, t_method, t_uri, t_nonce
    cdef _text t_nc = _text(NULL, 0), t_cnonce = _text(NULL, 0), t_body = _text(NULL, 0)
    cdef char digest[_HEX_MAX]
    cdef char body_hex[_HEX_MAX]
    cdef Py_ssize_t hexlen, extra, total, k
    cdef Py_UCS1 *d
    cdef str out
    cdef object arg
    cdef tuple texts
    if not (type(ha1) is str and type(method) is str and type(uri) is str
            and type(nonce) is str and type(nc) is str and type(cnonce) is str
            and type(start) is str and type(mid) is str and type(tail) is str
            and type(end) is str):  # the usual case needs no tuple to walk
        texts = (ha1, method, uri, nonce, nc, cnonce, start, mid, tail, end)
        for k in range(10):
            arg = texts[k]
            if not isinstance(arg, str):
                raise TypeError(f"{_RENDER_ARGS[k]} must be str, not {type(arg).__name__}")
    if code == _QOP_AUTH_INT:
        if type(body) is bytes:
            t_body.p = PyBytes_AS_STRING(body)
            t_body.n = PyBytes_GET_SIZE(body)
        elif type(body) is bytearray:
            t_body.p = PyByteArray_AS_STRING(body)
            t_body.n = PyByteArray_GET_SIZE(body)
        else:
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
    _utf8(ha1, &t_ha1)
    _utf8(method, &t_method)
    _utf8(uri, &t_uri)
    _utf8(nonce, &t_nonce)
    if code != _QOP_NONE:  # RFC 2069 form: nc and cnonce are not part of it
        _utf8(nc, &t_nc)
        _utf8(cnonce, &t_cnonce)
    if code == _QOP_AUTH_INT:
        _body_hex(alg, body, t_body, body_hex)
    t_body.p = body_hex  # from here on, H(body)
    t_body.n = 2 * sd_digest_len(alg)
    _digest_hex(alg, code, t_ha1, t_method, t_uri, t_nonce, t_nc, t_cnonce, t_body, digest)
    hexlen = 2 * sd_digest_len(alg)
    if not (PyUnicode_IS_ASCII(start) and PyUnicode_IS_ASCII(uri) and PyUnicode_IS_ASCII(mid)
            and PyUnicode_IS_ASCII(cnonce) and PyUnicode_IS_ASCII(tail)
            and PyUnicode_IS_ASCII(nc) and PyUnicode_IS_ASCII(end)):
        # rare (username*, an IRI): let Python join the pieces
        if str.__contains__(uri, '"') or str.__contains__(uri, "\\"):
            uri = str.replace(str.replace(uri, "\\", "\\\\"), '"', '\\"')
        return "".join((start, '"', uri, '", response="', _ascii(<Py_UCS1 *>digest, hexlen, False),
                        '"', mid, cnonce, tail, nc, end))
    extra = _quoted_extra(t_uri.p, t_uri.n)
    total = (PyUnicode_GET_LENGTH(start) + 1 + t_uri.n + extra + 13 + hexlen + 1
             + PyUnicode_GET_LENGTH(mid) + PyUnicode_GET_LENGTH(cnonce)
             + PyUnicode_GET_LENGTH(tail) + PyUnicode_GET_LENGTH(nc) + PyUnicode_GET_LENGTH(end))
    out = PyUnicode_New(total, 127)
    d = PyUnicode_1BYTE_DATA(out)
    d = _put(d, start)
    d[0] = _DQUOTE
    d += 1
    if extra:
        for k in range(t_uri.n):
            if t_uri.p[k] == _DQUOTE or t_uri.p[k] == _BSLASH:
                d[0] = _BSLASH
                d += 1
            d[0] = <Py_UCS1>t_uri.p[k]
            d += 1
    else:
        memcpy(d, t_uri.p, t_uri.n)
        d += t_uri.n
    memcpy(d, b'", response="', 13)
    d += 13
    memcpy(d, digest, hexlen)
    d += hexlen
    d[0] = _DQUOTE
    d += 1
    d = _put(d, mid)
    d = _put(d, cnonce)
    d = _put(d, tail)
    d = _put(d, nc)
    d = _put(d, end)
    return out


cdef inline Py_UCS1 *_put(Py_UCS1 *d, object piece) noexcept:
    """Copy an ASCII str's characters to d; return the position after them."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(piece)
    memcpy(d, PyUnicode_1BYTE_DATA(piece), n)
    return d + n
