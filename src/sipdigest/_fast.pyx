# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""C twin of ``sipdigest._pure``; ``_pure`` is the reference, read it first.

Strategy
--------
* Tokenizer: the character-level state machine of ``_pure._tokenize_slow`` and
  ``_pure._params``, transcribed step for step with the same messages and positions.
  It is written once over a fused code-unit type and compiled for the three PEP 393
  kinds (``PyUnicode_KIND``/``PyUnicode_DATA``): each instantiation reads its buffer
  directly, so the usual 1-byte string costs one load per character and positions are
  code-point indices, exactly Python's. The only Python objects made are the ones
  returned (a str per scheme, name and value, the dicts, the tuples, the list); a
  quoted value that needs unescaping or CR/LF removal is first copied into a small C
  buffer (stack, or PyMem when long), then made into a str once.
* Hashing goes through ``_sdhash.h`` only (no hashlib/OpenSSL; SHA-256 on the CPU's SHA
  extensions when CPUID reports them, see ``_sha256_hardware``): str arguments are read
  as UTF-8 with ``PyUnicode_AsUTF8AndSize`` (so lone surrogates raise
  UnicodeEncodeError as ``str.encode`` does), bytes as their buffer, and the
  colon-joined inputs are fed to ``sd_update`` piece by piece.
* ``verify_fast`` has its own, stricter scanner over ASCII values that accepts only the
  plain shape of Digest credentials, records spans in fixed arrays and creates no Python
  object; every other case answers -1 and ``digest.verify_credentials`` decides. The
  pure twin's ``verify_fast`` mirrors it condition for condition (same 1/0/-1).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint32_t
from libc.string cimport memchr, memcmp, memcpy

from hashlib import sha256 as _openssl_sha256

from sipdigest.errors import MalformedHeader


cdef extern from "Python.h":
    ctypedef unsigned char Py_UCS1
    ctypedef unsigned short Py_UCS2
    # Cython's own Py_UCS4 is a character type (it coerces to str); this is the plain
    # C integer, for the fused code-unit type
    ctypedef uint32_t UCS4 "Py_UCS4"
    Py_ssize_t PY_SSIZE_T_MAX
    Py_ssize_t PY_SSIZE_T_MIN
    int PyUnicode_1BYTE_KIND, PyUnicode_2BYTE_KIND
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    int PyUnicode_KIND(object)
    void *PyUnicode_DATA(object)
    bint PyUnicode_IS_ASCII(object)
    Py_UCS1 *PyUnicode_1BYTE_DATA(object)
    object PyUnicode_New(Py_ssize_t, uint32_t)
    object PyUnicode_FromKindAndData(int, const void *, Py_ssize_t)
    # NULL with an exception set on failure; callers either propagate or clear it
    const char *PyUnicode_AsUTF8AndSize(object, Py_ssize_t *)
    object PyNumber_Index(object)
    long long PyLong_AsLongLongAndOverflow(object, int *) except? -1
    void PyErr_Clear()
    Py_ssize_t PyDict_GET_SIZE(object)
    # a borrowed reference, NULL with an exception set
    void *PyDict_SetDefault(object, object, object) except NULL

cdef extern from "_sdhash.h" nogil:
    ctypedef struct sd_ctx:
        int alg
    enum: SD_MD5, SD_SHA256, SD_SHA512_256, SD_SHA512_TRUNC, SD_NALG, SD_MAX_DIGEST
    int sd_init(sd_ctx *c, int alg)
    void sd_update(sd_ctx *c, const void *data, size_t len)
    void sd_final_hex(sd_ctx *c, char *out)
    int sd_digest_len(int alg)
    void sd_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                        unsigned char *out)
    int sd_ct_equal(const void *a, const void *b, size_t n)
    ctypedef struct sd_hmac_key:
        pass
    void sd_hmac_sha256_prep(const void *key, size_t keylen, sd_hmac_key *hk)
    void sd_hmac_sha256_with(const sd_hmac_key *hk, const void *msg, size_t msglen,
                             unsigned char *out)
    int sd_sha256_hw(int allow)
    int sd_sha256_on_hw()


MD5 = SD_MD5
SHA256 = SD_SHA256
SHA512_256 = SD_SHA512_256
SHA512_TRUNC = SD_SHA512_TRUNC
QOP_NONE = 0
QOP_AUTH = 1
QOP_AUTH_INT = 2
MAC_LEN = 16

cdef enum:
    _QOP_NONE = 0
    _QOP_AUTH = 1
    _QOP_AUTH_INT = 2
    _MAC_LEN = 16
    _HEX_MAX = 2 * SD_MAX_DIGEST  # longest hex digest
    _STACK = 256                # stack buffers: code units / bytes
    _VERIFY_MAX_LENGTH = 8192   # headers.MAX_HEADER_LENGTH
    _VERIFY_MAX_ITEMS = 64      # headers.MAX_PARAMS

    # characters
    _HT = 9
    _LF = 10
    _CR = 13
    _DQUOTE = 34
    _COMMA = 44
    _EQUALS = 61
    _BSLASH = 92

    # character classes (ASCII only: every class is false from 0x80 up; the table has
    # 256 entries so that a byte needs no range check)
    C_TCHAR = 1      # _pure._TCHAR
    C_T68 = 2        # _pure._T68
    C_WS = 4         # _pure._WS: SP HT CR LF
    C_WS_COMMA = 8   # _pure._WS_COMMA
    C_UNQ = 16       # _pure._unquoted_ok
    C_OWS = 32       # verify_fast: SP HT
    C_QDTEXT = 64    # _pure._qd_ok below 0x80: HT, SP to '~' but '"' and '\\'

cdef unsigned char _CLASS[256]


cdef int _classify(str chars, unsigned char flag) except -1:
    for ch in chars:
        _CLASS[ord(ch)] |= flag


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_classify("!#$%&'*+-.^_`|~" + _ALNUM, C_TCHAR)
_classify("-._~+/" + _ALNUM, C_T68)
_classify(" \t\r\n", C_WS)
_classify(" \t\r\n,", C_WS_COMMA)
_classify("".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",'), C_UNQ)
_classify(" \t", C_OWS)
_classify("\t" + "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\'), C_QDTEXT)

del _ALNUM

cdef const char *_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
cdef signed char _B64_VALUE[128]   # -1 outside the alphabet


cdef void _init_b64() noexcept:
    cdef int k
    for k in range(128):
        _B64_VALUE[k] = -1
    for k in range(64):
        _B64_VALUE[<unsigned char>_B64[k]] = k


_init_b64()


cdef inline bint _is(uint32_t c, unsigned char cls) noexcept nogil:
    return c < 256 and (_CLASS[c] & cls) != 0


cdef inline bint _qp_ok(uint32_t c) noexcept nogil:
    """_pure._qp_ok: what may follow a backslash in a quoted-string."""
    if c < 0x20:
        return c == _HT
    if c == 0x7F:
        return False
    return not 0xD800 <= c <= 0xDFFF


cdef Py_ssize_t _limit(object n) except? -1:
    """An int argument as Py_ssize_t, saturating (a huge limit compares like its value)."""
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(PyNumber_Index(n), &overflow)
    if overflow > 0 or v > PY_SSIZE_T_MAX:
        return PY_SSIZE_T_MAX
    if overflow < 0 or v < PY_SSIZE_T_MIN:
        return PY_SSIZE_T_MIN
    return <Py_ssize_t>v


# --------------------------------------------------------------------------------------
# Tokenizer: _pure._params / _pure._tokenize_slow over a str's code units

ctypedef fused uchar:
    Py_UCS1
    Py_UCS2
    UCS4


cdef str _ascii(const uchar *p, Py_ssize_t n, bint lower):
    """A str from n ASCII code units (names are lower-cased)."""
    cdef str out = PyUnicode_New(n, 127)
    cdef Py_UCS1 *d = PyUnicode_1BYTE_DATA(out)
    cdef Py_ssize_t k
    cdef uint32_t c
    if uchar is Py_UCS1 and not lower:
        memcpy(d, p, n)
        return out
    for k in range(n):
        c = p[k]
        if lower and 0x41 <= c <= 0x5A:
            c += 0x20
        d[k] = <Py_UCS1>c
    return out


# Names found in nearly every value: handing out one interned str for each saves an
# allocation and a hash per parameter (and dict look-ups then match by identity).
cdef tuple _COMMON_NAMES = (
    "username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque",
    "qop", "nc", "userhash", "stale", "domain", "charset", "nextnonce", "rspauth",
)


cdef str _name(const uchar *p, Py_ssize_t n):
    """The lower-cased parameter name p[:n] (tchar only, so ASCII)."""
    cdef str known
    cdef const Py_UCS1 *d
    cdef Py_ssize_t k
    cdef uint32_t c
    for known in _COMMON_NAMES:
        if PyUnicode_GET_LENGTH(known) != n:
            continue
        d = PyUnicode_1BYTE_DATA(known)
        for k in range(n):
            c = p[k]
            if 0x41 <= c <= 0x5A:
                c += 0x20
            if c != d[k]:
                break
        else:
            return known
    return _ascii(p, n, True)


cdef str _text_of(const uchar *p, Py_ssize_t n, uint32_t bits):
    """A str from n code units; ``bits`` is the OR of them (below 128: all ASCII)."""
    if bits < 128:
        return _ascii(p, n, False)
    return PyUnicode_FromKindAndData(sizeof(uchar), p, n)


cdef str _quoted_value(const uchar *s, Py_ssize_t start, Py_ssize_t end, Py_ssize_t size,
                       uint32_t bits, bint plain):
    """The content of an already validated quoted-string s[start:end] (quotes excluded).

    ``plain``: no quoted-pair and no CR/LF, so the value is the slice itself; otherwise
    the ``size`` resulting code units are gathered into a C buffer first.
    """
    cdef uchar small[_STACK]
    cdef uchar *buf = small
    cdef Py_ssize_t j = start, o = 0
    cdef uint32_t c
    if plain:
        return _text_of(s + start, size, bits)
    if size > _STACK:
        buf = <uchar *>PyMem_Malloc(size * sizeof(uchar))
        if buf == NULL:
            raise MemoryError()
    try:
        while j < end:
            c = s[j]
            if c == _BSLASH:
                buf[o] = s[j + 1]
                o += 1
                j += 2
            elif c == _CR or c == _LF:
                j += 1
            else:
                buf[o] = <uchar>c
                o += 1
                j += 1
        return _text_of(buf, size, bits)
    finally:
        if buf != small:
            PyMem_Free(buf)


cdef inline bint _plain_span(const Py_UCS1 *p, Py_ssize_t n, uint32_t *bits) noexcept nogil:
    """A 1-byte span without '"' is all qdtext that is kept as is (no control but HT,
    no DEL, no backslash; 0x80-0xFF are Latin-1 text); ``bits`` gets the OR of its bytes.
    No early exit, so that the compiler vectorises it."""
    cdef unsigned char bad = 0, all_bits = 0, c
    cdef Py_ssize_t k
    for k in range(n):
        c = p[k]
        all_bits |= c
        bad |= ((c < 0x20) & (c != _HT)) | (c == 0x7F) | (c == _BSLASH)
    bits[0] = all_bits
    return bad == 0


cdef Py_ssize_t _params(const uchar *s, Py_ssize_t n, Py_ssize_t i, dict params,
                        Py_ssize_t *items, Py_ssize_t max_params, bint after_comma,
                        bint bare) except -2:
    """_pure._params: read name=value items from i; return the next scheme's start or -1."""
    cdef Py_ssize_t start, k, e, vstart, vend, size, run, before
    cdef uint32_t c, d, bits
    cdef bint plain, scan
    cdef const Py_UCS1 *quote
    cdef str name, val
    while i < n:
        # name
        start = i
        while i < n and _is(s[i], C_TCHAR):
            i += 1
        if i == start:
            raise MalformedHeader("expected a parameter name", i)
        k = i
        while k < n and _is(s[k], C_WS):
            k += 1
        if k == n or s[k] != _EQUALS:
            if after_comma and not bare:
                return start  # a bare token after a comma: a new challenge
            raise MalformedHeader("expected '=' after a parameter name", k)
        k += 1
        while k < n and _is(s[k], C_WS):
            k += 1
        if k < n and s[k] == _DQUOTE:
            # quoted-string: validate and measure, copy only if something is dropped
            k += 1
            vstart = k
            size = 0
            bits = 0
            plain = True
            scan = True
            if uchar is Py_UCS1:
                # the usual value: no quoted-pair, CR, LF or other control up to the
                # closing quote, found with memchr and checked in one vectorised pass;
                # anything else goes through the loop below from the start
                quote = <const Py_UCS1 *>memchr(s + k, _DQUOTE, <size_t>(n - k))
                if quote != NULL and _plain_span(s + k, quote - (s + k), &bits):
                    size = quote - (s + k)
                    k = quote - s
                    scan = False
            while scan:
                # a run of qdtext kept as is (_qd_ok, minus CR and LF)
                run = k
                while k < n:
                    c = s[k]
                    if c < 128:
                        if not _CLASS[c] & C_QDTEXT:
                            break
                    elif 0xD800 <= c <= 0xDFFF:
                        break
                    bits |= c
                    k += 1
                size += k - run
                # then what stopped it, in _pure's order
                if k == n:
                    raise MalformedHeader("unterminated quoted string", n)
                c = s[k]
                if c == _DQUOTE:
                    break
                if c == _BSLASH:
                    if k + 1 == n:
                        raise MalformedHeader("unterminated quoted string", n)
                    d = s[k + 1]
                    if not _qp_ok(d):
                        raise MalformedHeader("invalid character after backslash", k + 1)
                    bits |= d
                    size += 1
                    plain = False
                    k += 2
                elif c == _CR or c == _LF:
                    plain = False
                    k += 1
                else:
                    raise MalformedHeader("invalid character in quoted string", k)
            vend = k
            k += 1
            val = _quoted_value(s, vstart, vend, size, bits, plain)
        else:
            # token (any visible ASCII but '"' and ','), possibly empty
            e = k
            while e < n and _is(s[e], C_UNQ):
                e += 1
            val = _ascii(s + k, e - k, False)
            k = e
        name = _name(s + start, i - start)
        # one dict probe: insert unless present (the size tells which); a raise below
        # discards the dict, so inserting before the max_params check changes nothing
        before = PyDict_GET_SIZE(params)
        PyDict_SetDefault(params, name, val)
        if PyDict_GET_SIZE(params) == before:
            raise MalformedHeader(f"duplicate parameter '{name}'", start)
        items[0] += 1
        if items[0] > max_params:
            raise MalformedHeader("too many items in header value", start)
        # separator: optional white space, then ',' (any run of commas) or the end
        i = k
        while i < n and _is(s[i], C_WS):
            i += 1
        if i == n:
            break
        if s[i] != _COMMA:
            raise MalformedHeader("expected ',' after a parameter value", i)
        while i < n and _is(s[i], C_WS_COMMA):
            i += 1
        after_comma = True
    return -1


cdef list _tokenize(const uchar *s, Py_ssize_t n, Py_ssize_t max_params):
    """_pure._tokenize_slow."""
    cdef list out = []
    cdef Py_ssize_t items = 0, i = 0, start, j, t, k, next_scheme
    cdef bint after_comma
    cdef str scheme
    cdef object token68
    cdef dict params
    while i < n and _is(s[i], C_WS_COMMA):
        i += 1
    if i == n:
        raise MalformedHeader("empty header value", n)
    while True:
        # scheme
        start = i
        while i < n and _is(s[i], C_TCHAR):
            i += 1
        if i == start:
            raise MalformedHeader("expected an authentication scheme", i)
        items += 1
        if items > max_params:
            raise MalformedHeader("too many items in header value", start)
        scheme = _ascii(s + start, i - start, False)
        params = {}
        token68 = None
        after_comma = False
        # token68: t68 chars, then '='s, then only white space up to the end or a comma
        j = i
        while j < n and _is(s[j], C_WS):
            j += 1
        if j < n and s[j] != _COMMA:
            if j == i:
                raise MalformedHeader("expected whitespace after the scheme", i)
            t = j
            while t < n and _is(s[t], C_T68):
                t += 1
            if t > j:
                while t < n and s[t] == _EQUALS:
                    t += 1
                k = t
                while k < n and _is(s[k], C_WS):
                    k += 1
                if k == n or s[k] == _COMMA:
                    token68 = _ascii(s + j, t - j, False)
                    j = k
        i = j
        if i < n and s[i] == _COMMA:
            while i < n and _is(s[i], C_WS_COMMA):
                i += 1
            after_comma = True
        if token68 is not None and i < n:
            # after a token68 only a new challenge may follow
            start = i
            while i < n and _is(s[i], C_TCHAR):
                i += 1
            k = i
            while k < n and _is(s[k], C_WS):
                k += 1
            if i > start and k < n and s[k] == _EQUALS:
                raise MalformedHeader("expected a new challenge after token68", start)
            next_scheme = start
        else:
            next_scheme = _params(s, n, i, params, &items, max_params, after_comma, False)
        out.append((scheme, token68, params))
        if next_scheme < 0:
            return out
        i = next_scheme


cdef int _check_length(str value, object max_length) except -1:
    if PyUnicode_GET_LENGTH(value) > _limit(max_length):
        raise MalformedHeader(f"header value longer than {max_length} characters", max_length)
    return 0


def tokenize(value, max_length, max_params):
    """Split a header value into (scheme, token68 or None, {lower-case name: value})."""
    if type(value) is not str:
        raise TypeError("header value must be str")
    _check_length(value, max_length)
    cdef Py_ssize_t limit = _limit(max_params)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value)
    cdef int kind = PyUnicode_KIND(value)
    cdef void *data = PyUnicode_DATA(value)
    if kind == PyUnicode_1BYTE_KIND:
        return _tokenize(<const Py_UCS1 *>data, n, limit)
    if kind == PyUnicode_2BYTE_KIND:
        return _tokenize(<const Py_UCS2 *>data, n, limit)
    return _tokenize(<const UCS4 *>data, n, limit)


cdef dict _tokenize_params(const uchar *s, Py_ssize_t n, Py_ssize_t max_params):
    cdef dict params = {}
    cdef Py_ssize_t items = 0, i = 0
    while i < n and _is(s[i], C_WS_COMMA):
        i += 1
    _params(s, n, i, params, &items, max_params, False, True)
    return params


def tokenize_params(value, max_length, max_params):
    """Split a bare auth-param list (Authentication-Info) into {lower-case name: value}."""
    if type(value) is not str:
        raise TypeError("header value must be str")
    _check_length(value, max_length)
    cdef Py_ssize_t limit = _limit(max_params)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value)
    cdef int kind = PyUnicode_KIND(value)
    cdef void *data = PyUnicode_DATA(value)
    if kind == PyUnicode_1BYTE_KIND:
        return _tokenize_params(<const Py_UCS1 *>data, n, limit)
    if kind == PyUnicode_2BYTE_KIND:
        return _tokenize_params(<const Py_UCS2 *>data, n, limit)
    return _tokenize_params(<const UCS4 *>data, n, limit)


# --------------------------------------------------------------------------------------
# Digest arithmetic

cdef struct _text:
    const char *p
    Py_ssize_t n


cdef int _get_text(object o, _text *t) except -1:
    """_pure._b without the copy: borrow the bytes buffer or the str's UTF-8."""
    if isinstance(o, bytes):
        t.p = PyBytes_AS_STRING(o)
        t.n = PyBytes_GET_SIZE(o)
        return 0
    if isinstance(o, str):
        t.p = PyUnicode_AsUTF8AndSize(o, &t.n)
        return -1 if t.p == NULL else 0
    raise TypeError(f"expected str or bytes, not {type(o).__name__}")


cdef int _hash_id(object hash_id) except -1:
    if type(hash_id) is not int or not 0 <= hash_id < SD_NALG:
        raise ValueError(f"unknown hash id {hash_id!r}")
    return <int>hash_id


cdef int _qop_code(object qop) except -1:
    if qop == _QOP_AUTH_INT:
        return _QOP_AUTH_INT
    if qop == _QOP_AUTH:
        return _QOP_AUTH
    if qop == _QOP_NONE:
        return _QOP_NONE
    raise ValueError(f"unknown qop code {qop!r}")


cdef void _hash_join(int alg, const _text *parts, int count, char *hex_out) noexcept nogil:
    """Hex of H(parts[0] ":" parts[1] ":" ...), fed piece by piece."""
    cdef sd_ctx c
    cdef int k
    sd_init(&c, alg)
    for k in range(count):
        if k:
            sd_update(&c, b":", 1)
        sd_update(&c, parts[k].p, <size_t>parts[k].n)
    sd_final_hex(&c, hex_out)


cdef enum:
    _HASHLIB_MIN_BODY = 128  # bytes: from here hashlib's SHA-256 beats the portable one


cdef void _body_hex(int alg, object body, _text t_body, char *out) noexcept:
    """H(body) in hex, for auth-int, on every path (server, client, verify_fast): a
    SHA-256 body of _HASHLIB_MIN_BODY bytes or more is hashed by hashlib (OpenSSL's
    vectorised rounds) where the CPU has no SHA extensions; with them, and for short or
    other bodies, the C core hashes it. The same digest either way."""
    cdef str h
    if (alg == SD_SHA256 and t_body.n >= _HASHLIB_MIN_BODY
            and (type(body) is bytes or type(body) is bytearray) and not sd_sha256_on_hw()):
        try:
            h = _openssl_sha256(body).hexdigest()
        except Exception:  # out of memory, say: the C core gives the same digest
            pass
        else:
            memcpy(out, PyUnicode_1BYTE_DATA(h), 64)
            return
    _hash_join(alg, &t_body, 1, out)


cdef void _digest_hex(int alg, int qop, _text ha1, _text method, _text uri, _text nonce,
                      _text nc, _text cnonce, _text body_hex, char *hex_out) noexcept nogil:
    """_pure.response with H(body) given in hex (read for auth-int only): HA2, then
    KD(HA1, ...) (RFC 7616 §3.4.1; RFC 2069 form without qop)."""
    cdef char ha2[_HEX_MAX]
    cdef Py_ssize_t hexlen = 2 * sd_digest_len(alg)
    cdef _text parts[6]
    parts[0] = method
    parts[1] = uri
    parts[2] = body_hex
    _hash_join(alg, parts, 3 if qop == _QOP_AUTH_INT else 2, ha2)
    parts[0] = ha1
    parts[1] = nonce
    if qop == _QOP_NONE:
        parts[2].p = ha2
        parts[2].n = hexlen
        _hash_join(alg, parts, 3, hex_out)
        return
    parts[2] = nc
    parts[3] = cnonce
    if qop == _QOP_AUTH_INT:
        parts[4].p = b"auth-int"
        parts[4].n = 8
    else:
        parts[4].p = b"auth"
        parts[4].n = 4
    parts[5].p = ha2
    parts[5].n = hexlen
    _hash_join(alg, parts, 6, hex_out)


cdef str _new_hex(int alg):
    """An uninitialised ASCII str of the algorithm's hex length, to write into."""
    return PyUnicode_New(2 * sd_digest_len(alg), 127)


def hexdigest(hash_id, data):
    """H(data) in lower-case hex."""
    cdef int alg = _hash_id(hash_id)
    cdef _text t
    _get_text(data, &t)
    cdef str out = _new_hex(alg)
    _hash_join(alg, &t, 1, <char *>PyUnicode_1BYTE_DATA(out))
    return out


def ha1(hash_id, username, realm, password):
    """H(username ":" realm ":" password) (RFC 7616 §3.4.2)."""
    cdef int alg = _hash_id(hash_id)
    cdef _text parts[3]
    _get_text(username, &parts[0])
    _get_text(realm, &parts[1])
    _get_text(password, &parts[2])
    cdef str out = _new_hex(alg)
    _hash_join(alg, parts, 3, <char *>PyUnicode_1BYTE_DATA(out))
    return out


def ha1_sess(hash_id, ha1, nonce, cnonce):
    """H(HA1 ":" nonce ":" cnonce) for the -sess algorithms (RFC 7616 §3.4.2)."""
    cdef int alg = _hash_id(hash_id)
    cdef _text parts[3]
    _get_text(ha1, &parts[0])
    _get_text(nonce, &parts[1])
    _get_text(cnonce, &parts[2])
    cdef str out = _new_hex(alg)
    _hash_join(alg, parts, 3, <char *>PyUnicode_1BYTE_DATA(out))
    return out


cdef int _response_args(object hash_id, object ha1, object method, object uri, object nonce,
                        object nc, object cnonce, object qop, object body,
                        char *hex_out) except -1:
    """Convert the arguments in _pure.response's order, then compute into hex_out."""
    cdef int alg = _hash_id(hash_id)
    cdef int code = _qop_code(qop)
    cdef _text t_ha1, t_method, t_uri, t_nonce
    cdef _text t_nc = _text(NULL, 0), t_cnonce = _text(NULL, 0), t_body = _text(NULL, 0)
    cdef char body_hex[_HEX_MAX]
    _get_text(method, &t_method)
    _get_text(uri, &t_uri)
    if code == _QOP_AUTH_INT:
        _get_text(body, &t_body)
    _get_text(ha1, &t_ha1)
    _get_text(nonce, &t_nonce)
    if code != _QOP_NONE:  # RFC 2069 form: nc and cnonce are not part of it
        _get_text(nc, &t_nc)
        _get_text(cnonce, &t_cnonce)
    if code == _QOP_AUTH_INT:
        _body_hex(alg, body, t_body, body_hex)
        t_body.p = body_hex  # from here on, H(body)
        t_body.n = 2 * sd_digest_len(alg)
    _digest_hex(alg, code, t_ha1, t_method, t_uri, t_nonce, t_nc, t_cnonce, t_body, hex_out)
    return 2 * sd_digest_len(alg)


def response(hash_id, ha1, method, uri, nonce, nc, cnonce, qop, body):
    """The request-digest (RFC 7616 §3.4.1; RFC 2069 form when ``qop`` is QOP_NONE)."""
    cdef char hex_out[_HEX_MAX]
    cdef int hexlen = _response_args(hash_id, ha1, method, uri, nonce, nc, cnonce, qop, body,
                                     hex_out)
    return _ascii(<const Py_UCS1 *>hex_out, hexlen, False)


def check_response(hash_id, ha1, method, uri, nonce, nc, cnonce, qop, body, received):
    """Recompute the request-digest and compare it with ``received`` in constant time."""
    cdef char hex_out[_HEX_MAX]
    cdef int hexlen = _response_args(hash_id, ha1, method, uri, nonce, nc, cnonce, qop, body,
                                     hex_out)
    if type(received) is not str:
        raise TypeError("received response must be str")
    if not PyUnicode_IS_ASCII(received) or PyUnicode_GET_LENGTH(received) != hexlen:
        return False
    return sd_ct_equal(hex_out, PyUnicode_1BYTE_DATA(received), hexlen) == 1


# --------------------------------------------------------------------------------------
# HMAC and nonces: base64url(payload || HMAC-SHA-256(key, payload)[:16]), no padding

# The host's secrets are few and long-lived: their HMAC pads are hashed once and the
# two midstates kept in a small cache keyed by the key bytes (round-robin replacement),
# so a nonce MAC costs two SHA-256 compressions instead of four. The key and the
# midstates stay in this process's memory, as the secret itself does.
cdef enum:
    _HK_SLOTS = 8
    _HK_MAX_KEY = 128   # longer keys are not cached (computed as before)

cdef struct _hk_slot:
    Py_ssize_t keylen   # -1: empty
    unsigned char key[_HK_MAX_KEY]
    sd_hmac_key hk

cdef _hk_slot _HK[_HK_SLOTS]
cdef int _hk_next = 0
for _i in range(_HK_SLOTS):
    _HK[_i].keylen = -1


cdef void _hmac(const _text *k, const void *msg, size_t msglen, unsigned char *out) noexcept:
    """HMAC-SHA-256 of msg under k, through the midstate cache (the GIL serialises it)."""
    global _hk_next
    cdef int i
    cdef _hk_slot *slot
    if k.n > _HK_MAX_KEY:
        sd_hmac_sha256(k.p, <size_t>k.n, msg, msglen, out)
        return
    for i in range(_HK_SLOTS):
        slot = &_HK[i]
        if slot.keylen == k.n and memcmp(slot.key, k.p, <size_t>k.n) == 0:
            sd_hmac_sha256_with(&slot.hk, msg, msglen, out)
            return
    slot = &_HK[_hk_next]
    _hk_next = (_hk_next + 1) % _HK_SLOTS
    slot.keylen = -1
    memcpy(slot.key, k.p, <size_t>k.n)
    sd_hmac_sha256_prep(k.p, <size_t>k.n, &slot.hk)
    slot.keylen = k.n
    sd_hmac_sha256_with(&slot.hk, msg, msglen, out)


def hmac_sha256(key, data):
    """HMAC-SHA-256 (RFC 2104); used for nonce MACs and binding tags."""
    cdef _text k, d
    cdef unsigned char mac[32]
    _get_text(key, &k)
    _get_text(data, &d)
    _hmac(&k, d.p, <size_t>d.n, mac)
    return PyBytes_FromStringAndSize(<char *>mac, 32)


cdef inline Py_ssize_t _b64_length(Py_ssize_t raw_len) noexcept nogil:
    return (raw_len * 4 + 2) // 3


cdef void _b64url_encode(const unsigned char *raw, Py_ssize_t n, Py_UCS1 *out) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef unsigned int v
    while i + 3 <= n:
        v = (raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2]
        out[0] = _B64[v >> 18]
        out[1] = _B64[(v >> 12) & 63]
        out[2] = _B64[(v >> 6) & 63]
        out[3] = _B64[v & 63]
        out += 4
        i += 3
    if n - i == 1:
        v = raw[i] << 16
        out[0] = _B64[v >> 18]
        out[1] = _B64[(v >> 12) & 63]
    elif n - i == 2:
        v = (raw[i] << 16) | (raw[i + 1] << 8)
        out[0] = _B64[v >> 18]
        out[1] = _B64[(v >> 12) & 63]
        out[2] = _B64[(v >> 6) & 63]


cdef bint _b64url_decode(const Py_UCS1 *s, Py_ssize_t n, unsigned char *raw) noexcept nogil:
    """Decode n alphabet characters (n % 4 != 1); false if the unused low bits of the
    last character are set, i.e. if this is not how the bytes would be encoded."""
    cdef Py_ssize_t i = 0
    cdef unsigned int v
    while i + 4 <= n:
        v = (_B64_VALUE[s[i]] << 18) | (_B64_VALUE[s[i + 1]] << 12) \
            | (_B64_VALUE[s[i + 2]] << 6) | _B64_VALUE[s[i + 3]]
        raw[0] = <unsigned char>(v >> 16)
        raw[1] = <unsigned char>(v >> 8)
        raw[2] = <unsigned char>v
        raw += 3
        i += 4
    if n - i == 2:
        v = (_B64_VALUE[s[i]] << 18) | (_B64_VALUE[s[i + 1]] << 12)
        raw[0] = <unsigned char>(v >> 16)
        return (v & 0xFFFF) == 0
    if n - i == 3:
        v = (_B64_VALUE[s[i]] << 18) | (_B64_VALUE[s[i + 1]] << 12) | (_B64_VALUE[s[i + 2]] << 6)
        raw[0] = <unsigned char>(v >> 16)
        raw[1] = <unsigned char>(v >> 8)
        return (v & 0xFF) == 0
    return True


def mint_nonce(key, payload):
    """base64url(payload || HMAC-SHA-256(key, payload)[:16]) without padding."""
    cdef _text p, k
    cdef unsigned char small[_STACK]
    cdef unsigned char *raw = small
    cdef unsigned char mac[32]
    _get_text(payload, &p)
    _get_text(key, &k)
    cdef Py_ssize_t raw_len = p.n + _MAC_LEN
    cdef str out = PyUnicode_New(_b64_length(raw_len), 127)
    if raw_len > _STACK:
        raw = <unsigned char *>PyMem_Malloc(raw_len)
        if raw == NULL:
            raise MemoryError()
    memcpy(raw, p.p, p.n)
    _hmac(&k, p.p, <size_t>p.n, mac)
    memcpy(raw + p.n, mac, _MAC_LEN)
    _b64url_encode(raw, raw_len, PyUnicode_1BYTE_DATA(out))
    if raw != small:
        PyMem_Free(raw)
    return out


def open_nonce(key, nonce, payload_len):
    """The payload of a nonce minted with ``key``, or None if it is not one of ours."""
    if type(nonce) is not str:
        raise TypeError("nonce must be str")
    cdef Py_ssize_t plen = _limit(payload_len)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(nonce), i, raw_len
    cdef const Py_UCS1 *s
    cdef _text k
    cdef unsigned char small[_STACK]
    cdef unsigned char *raw = small
    cdef unsigned char mac[32]
    cdef bint canonical, good
    # the pure twin's refusals before it touches the key: length, then alphabet
    if plen < -_MAC_LEN or plen > n:  # the expected length is negative or longer than n
        return None
    raw_len = plen + _MAC_LEN
    if n != _b64_length(raw_len) or not PyUnicode_IS_ASCII(nonce):
        return None
    s = PyUnicode_1BYTE_DATA(nonce)
    for i in range(n):
        if _B64_VALUE[s[i]] < 0:
            return None
    _get_text(key, &k)
    if plen < 0:  # fewer than MAC_LEN bytes: the MAC cannot match
        return None
    if raw_len > _STACK:
        raw = <unsigned char *>PyMem_Malloc(raw_len)
        if raw == NULL:
            raise MemoryError()
    try:
        canonical = _b64url_decode(s, n, raw)
        _hmac(&k, raw, <size_t>plen, mac)
        good = sd_ct_equal(mac, raw + plen, _MAC_LEN) & canonical
        if not good:
            return None
        return PyBytes_FromStringAndSize(<char *>raw, plen)
    finally:
        if raw != small:
            PyMem_Free(raw)


# --------------------------------------------------------------------------------------
# verify_fast: plain Digest credentials, no Python object created

cdef enum:
    # parameters verify_fast looks at; bit i of ``seen`` is parameter i
    P_USERNAME
    P_USERNAME_STAR
    P_REALM
    P_NONCE
    P_URI
    P_RESPONSE
    P_ALGORITHM
    P_CNONCE
    P_QOP
    P_NC
    P_USERHASH
    P_OTHER  # any other name (opaque, extensions): only checked for duplicates

cdef enum:
    _REQUIRED = (1 << P_USERNAME) | (1 << P_REALM) | (1 << P_NONCE) | (1 << P_URI) \
        | (1 << P_RESPONSE)


cdef inline char _lower(char c) noexcept nogil:
    return c + 0x20 if 0x41 <= c <= 0x5A else c


cdef inline bint _ieq(const char *p, Py_ssize_t n, const char *lower, Py_ssize_t m) noexcept nogil:
    """p[:n] equals the lower-case ASCII literal ``lower`` ignoring ASCII case."""
    cdef Py_ssize_t k
    if n != m:
        return False
    for k in range(n):
        if _lower(p[k]) != lower[k]:
            return False
    return True


cdef inline bint _same_name(_text a, _text b) noexcept nogil:
    """Two tokens are the same parameter name (ASCII case-insensitive)."""
    cdef Py_ssize_t k
    if a.n != b.n:
        return False
    for k in range(a.n):
        if _lower(a.p[k]) != _lower(b.p[k]):
            return False
    return True


cdef inline bint _eq(_text t, const char *lit, Py_ssize_t m) noexcept nogil:
    return t.n == m and memcmp(t.p, lit, m) == 0


cdef int _param_id(const char *p, Py_ssize_t n) noexcept nogil:
    if n == 2:
        if _ieq(p, n, b"nc", 2):
            return P_NC
    elif n == 3:
        if _ieq(p, n, b"uri", 3):
            return P_URI
        if _ieq(p, n, b"qop", 3):
            return P_QOP
    elif n == 5:
        if _ieq(p, n, b"realm", 5):
            return P_REALM
        if _ieq(p, n, b"nonce", 5):
            return P_NONCE
    elif n == 6:
        if _ieq(p, n, b"cnonce", 6):
            return P_CNONCE
    elif n == 8:
        if _ieq(p, n, b"username", 8):
            return P_USERNAME
        if _ieq(p, n, b"response", 8):
            return P_RESPONSE
        if _ieq(p, n, b"userhash", 8):
            return P_USERHASH
    elif n == 9:
        if _ieq(p, n, b"algorithm", 9):
            return P_ALGORITHM
        if _ieq(p, n, b"username*", 9):
            return P_USERNAME_STAR
    return P_OTHER


cdef int _algorithm(_text t, bint *sess) noexcept nogil:
    """The hash id of a registered algorithm token (digest.ALGORITHMS), or -1."""
    sess[0] = t.n > 5 and _ieq(t.p + t.n - 5, 5, b"-sess", 5)
    cdef Py_ssize_t n = t.n - 5 if sess[0] else t.n
    if _ieq(t.p, n, b"md5", 3):
        return SD_MD5
    if _ieq(t.p, n, b"sha-256", 7):
        return SD_SHA256
    if _ieq(t.p, n, b"sha-512-256", 11):
        return SD_SHA512_256
    return -1


cdef inline bint _hex8(_text t) noexcept nogil:
    """headers.Credentials.nc_text: exactly 8 hex digits, either case."""
    cdef Py_ssize_t k
    cdef char c
    if t.n != 8:
        return False
    for k in range(8):
        c = t.p[k]
        if not (0x30 <= c <= 0x39 or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66):
            return False
    return True


cdef inline bint _qdtext_span(const unsigned char *p, Py_ssize_t n) noexcept nogil:
    """An ASCII span without '"' is all qdtext (no CR/LF, other controls, DEL or
    backslash); written without an early exit so that the compiler vectorises it."""
    cdef unsigned char bad = 0, c
    cdef Py_ssize_t k
    for k in range(n):
        c = p[k]
        bad |= ((c < 0x20) & (c != _HT)) | (c == 0x7F) | (c == _BSLASH)
    return bad == 0


cdef inline Py_ssize_t _skip(const char *s, Py_ssize_t n, Py_ssize_t i, unsigned char cls) noexcept nogil:
    while i < n and _is(<unsigned char>s[i], cls):
        i += 1
    return i


cdef Py_ssize_t _plain_pair(const char *s, Py_ssize_t n, Py_ssize_t i, _text *name,
                            _text *value) noexcept nogil:
    """One plain ``name = value`` item of a credentials value, its name starting at s[i]:
    the spans go to ``name`` and ``value``; returns where the next item's name starts, n
    after the last item, or -1 when the shape is not plain (no name, no "=", quoted-pair,
    CR/LF or another control character in quotes, an empty or token68-like bare value,
    anything but OWS "," OWS after the value, a trailing comma). Every C scanner of plain
    credentials (verify_fast, credential_fields, scan_credentials) reads its items with this."""
    cdef Py_ssize_t start = i
    cdef const char *quote
    i = _skip(s, n, i, C_TCHAR)
    if i == start:
        return -1
    name.p = s + start
    name.n = i - start
    i = _skip(s, n, i, C_OWS)
    if i == n or s[i] != _EQUALS:
        return -1  # token68 or a second challenge
    i = _skip(s, n, i + 1, C_OWS)
    if i < n and s[i] == _DQUOTE:
        start = i + 1
        quote = <const char *>memchr(s + start, _DQUOTE, n - start)
        if quote == NULL:
            return -1
        i = quote - s
        if not _qdtext_span(<const unsigned char *>s + start, i - start):
            return -1
        value.p = s + start
        value.n = i - start
        i += 1
    else:
        start = i
        i = _skip(s, n, i, C_UNQ)
        if i == start or s[start] == _EQUALS:
            return -1  # empty, or a value like "==" that could read as token68
        value.p = s + start
        value.n = i - start
    i = _skip(s, n, i, C_OWS)
    if i == n:
        return n
    if s[i] != _COMMA:
        return -1
    i = _skip(s, n, i + 1, C_OWS)
    return i if i < n else -1


cdef bint _plain_text(object o, _text *t) noexcept:
    """Exact str (as UTF-8) or exact bytes; false, with no exception left, otherwise."""
    if type(o) is bytes:
        t.p = PyBytes_AS_STRING(o)
        t.n = PyBytes_GET_SIZE(o)
        return True
    if type(o) is str:
        t.p = PyUnicode_AsUTF8AndSize(o, &t.n)
        if t.p == NULL:
            PyErr_Clear()  # lone surrogate: the general path raises, so do not answer
            return False
        return True
    return False


cdef int _verify(str value, object method, object ha1, object password, object body) noexcept:
    """1 / 0 for plain well-formed Digest credentials, -1 for everything else."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value), i, start
    cdef const char *s
    cdef _text field[P_OTHER]                  # value of each parameter seen (``seen``)
    cdef _text other[_VERIFY_MAX_ITEMS]        # names of the other parameters
    cdef int nother = 0, items = 1, pid, k, alg, qop = _QOP_NONE
    cdef unsigned int seen = 0
    cdef bint sess
    cdef Py_ssize_t hexlen
    cdef char ha1_hex[_HEX_MAX]
    cdef char expected[_HEX_MAX]
    cdef char body_hex[_HEX_MAX]
    cdef _text name, val, t_method, t_body, t_secret, t_ha1
    cdef _text parts[3]
    cdef char c

    if n > _VERIFY_MAX_LENGTH or not PyUnicode_IS_ASCII(value):
        return -1
    s = <const char *>PyUnicode_1BYTE_DATA(value)
    t_body = _text(NULL, 0)

    # Scheme: only SP/HT as white space (a CR/LF fold, a comma or anything unusual
    # goes to the general path), then "Digest" followed by white space.
    i = _skip(s, n, 0, C_OWS)
    start = i
    i = _skip(s, n, i, C_TCHAR)
    if not _ieq(s + start, i - start, b"digest", 6) or i == n or not _is(<unsigned char>s[i], C_OWS):
        return -1
    i = _skip(s, n, i, C_OWS)

    # name = ( token | "quoted" ) ( OWS "," OWS name = ... )* OWS: a subset of what the
    # full tokenizer reads as one credentials item with the same dict.
    while i < n:
        i = _plain_pair(s, n, i, &name, &val)
        if i < 0:
            return -1
        pid = _param_id(name.p, name.n)
        items += 1
        if items > _VERIFY_MAX_ITEMS:
            return -1
        if pid == P_OTHER:
            for k in range(nother):
                if _same_name(other[k], name):
                    return -1  # duplicate: the tokenizer raises
            other[nother] = name
            nother += 1
        else:
            if seen & (1u << pid):
                return -1  # duplicate: the tokenizer raises
            seen |= 1u << pid
            field[pid] = val

    # headers.Credentials._from_item and digest.verify_credentials, plain cases only
    if (seen & _REQUIRED) != _REQUIRED or seen & (1u << P_USERNAME_STAR):
        return -1
    if seen & (1u << P_USERHASH) and not _ieq(field[P_USERHASH].p, field[P_USERHASH].n,
                                              b"false", 5):
        return -1
    alg = SD_MD5
    sess = False
    if seen & (1u << P_ALGORITHM):
        alg = _algorithm(field[P_ALGORITHM], &sess)
        if alg < 0:
            return -1
    if seen & (1u << P_QOP):
        if _eq(field[P_QOP], b"auth", 4):
            qop = _QOP_AUTH
        elif _eq(field[P_QOP], b"auth-int", 8):
            qop = _QOP_AUTH_INT
        else:
            return -1
        if not seen & (1u << P_NC) or not _hex8(field[P_NC]) or not seen & (1u << P_CNONCE):
            return -1
    if seen & (1u << P_NC) and not _hex8(field[P_NC]):
        return -1  # headers.Credentials refuses a non-token nc even without qop
    if sess and not seen & (1u << P_CNONCE):
        return -1
    hexlen = 2 * sd_digest_len(alg)

    # HA1: the stored one (ASCII, right length, lower-cased like the Python layer) or
    # H(username:realm:password)
    if (ha1 is None) == (password is None):
        return -1
    if ha1 is not None:
        if not _plain_text(ha1, &t_secret) or t_secret.n != hexlen:
            return -1
        for k in range(hexlen):
            c = t_secret.p[k]
            if c & 0x80:
                return -1  # non-ASCII: the Python layer fails or lower() may differ
            ha1_hex[k] = _lower(c)
    else:
        if not _plain_text(password, &t_secret):
            return -1
        parts[0] = field[P_USERNAME]
        parts[1] = field[P_REALM]
        parts[2] = t_secret
        _hash_join(alg, parts, 3, ha1_hex)
    t_ha1.p = ha1_hex
    t_ha1.n = hexlen
    if sess:  # H(HA1:nonce:cnonce), in place: every input is hashed before the output is written
        parts[0] = t_ha1
        parts[1] = field[P_NONCE]
        parts[2] = field[P_CNONCE]
        _hash_join(alg, parts, 3, ha1_hex)

    if not _plain_text(method, &t_method):
        return -1
    if qop == _QOP_AUTH_INT:  # the body is read only for auth-int, as in the pure twin
        if not _plain_text(body, &t_body):
            return -1
        _body_hex(alg, body, t_body, body_hex)
        t_body.p = body_hex  # from here on, H(body)
        t_body.n = hexlen
    if qop == _QOP_NONE:  # RFC 2069 form: nc and cnonce, sent or not, are not hashed
        field[P_NC] = field[P_CNONCE] = _text(NULL, 0)
    _digest_hex(alg, qop, t_ha1, t_method, field[P_URI], field[P_NONCE], field[P_NC],
                field[P_CNONCE], t_body, expected)
    if field[P_RESPONSE].n != hexlen:
        return 0
    return sd_ct_equal(expected, field[P_RESPONSE].p, hexlen)


def verify_fast(value, method, ha1, password, body):
    """1 if plain Digest credentials verify, 0 if they do not, -1 to let the general
    path (digest.verify_credentials) decide; never raises for a str value."""
    if type(value) is not str:
        raise TypeError("header value must be str")
    return _verify(value, method, ha1, password, body)


def _sha256_hardware(allow):
    """Use the CPU's SHA extensions for SHA-256 when it has them (``allow``), or the
    portable rounds; returns whether the hardware is used. Not a twin function: the
    tests run the hash checks both ways."""
    return sd_sha256_hw(1 if allow else 0) == 1


def sha256_on_hardware():
    """Whether SHA-256 runs on the CPU's SHA extensions now. Where it does not, the
    machines hash a long auth-int body with hashlib (OpenSSL's vectorised SHA-256 beats
    the portable rounds); where it does, the C path is the faster one."""
    return sd_sha256_on_hw() == 1


# ---- the machines' twin functions (kept in their own files) ---------------------------

include "_fast_server.pxi"
include "_fast_client.pxi"


# --------------------------------------------------------------------------------------
# credential_fields: headers.parse_credentials' short cut (after the server's include,
# whose name table it shares: the same eleven lower-case names)

def credential_fields(value, max_length):
    """The fields of one plain Digest credentials value in Credentials' order, or None
    (see _pure.credential_fields)."""
    if type(value) is not str:
        raise TypeError("header value must be str")
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value), i
    cdef const char *s
    cdef _text field[S_COUNT]
    cdef _text name, val
    cdef unsigned int seen = 0
    cdef int pid
    cdef bint sess
    cdef object qop
    if n > _limit(max_length) or not PyUnicode_IS_ASCII(value):
        return None
    s = <const char *>PyUnicode_1BYTE_DATA(value)
    i = _skip(s, n, 0, C_OWS)
    if n - i < 7 or not _ieq(s + i, 6, b"digest", 6) or not _is(<unsigned char>s[i + 6], C_OWS):
        return None
    i = _skip(s, n, i + 7, C_OWS)
    while i < n:
        i = _plain_pair(s, n, i, &name, &val)
        if i < 0:
            return None
        pid = _scan_name(name.p, name.n)
        if pid < 0 or seen & (1u << pid):
            return None  # another name (extra, username*, any upper case) or a duplicate
        seen |= 1u << pid
        field[pid] = val
    if (seen & _S_IDENT) != _S_IDENT:
        return None
    if seen & (1u << S_ALGORITHM) and _algorithm(field[S_ALGORITHM], &sess) < 0:
        return None
    if seen & (1u << S_QOP):
        if _lit(field[S_QOP].p, field[S_QOP].n, b"auth", 4):
            qop = "auth"
        elif _lit(field[S_QOP].p, field[S_QOP].n, b"auth-int", 8):
            qop = "auth-int"
        else:
            return None
        if not seen & (1u << S_NC) or not seen & (1u << S_CNONCE):
            return None
    else:
        qop = None
    if seen & (1u << S_NC) and not _hex8(field[S_NC]):
        return None
    return (
        _field_str(field, seen, S_USERNAME),
        _field_str(field, seen, S_REALM),
        _field_str(field, seen, S_NONCE),
        _field_str(field, seen, S_URI),
        _field_str(field, seen, S_RESPONSE),
        _field_str(field, seen, S_ALGORITHM),
        _field_str(field, seen, S_CNONCE),
        _field_str(field, seen, S_OPAQUE),
        qop,
        _field_str(field, seen, S_NC),
        bool(seen & (1u << S_USERHASH)
             and _ieq(field[S_USERHASH].p, field[S_USERHASH].n, b"true", 4)),
    )
