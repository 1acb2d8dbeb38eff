# The server machine's C twin functions, included at the end of _fast.pyx (so they see
# its cdef helpers). Their pure-Python twins live in _pure_server.py, whose __all__
# lists the names both twins must expose; _pure_server is the reference.

from libc.stdint cimport int64_t, uint64_t
from libc.math cimport INFINITY
from libc.string cimport memset

from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM

cdef extern from "Python.h":
    Py_hash_t _Py_HashBytes(const void *, Py_ssize_t)
    void *PyMem_Calloc(size_t, size_t)


# --------------------------------------------------------------------------------------
# scan_credentials: _pure_server.scan_credentials in one pass, no dict, no name strings

cdef enum:
    S_USERNAME
    S_REALM
    S_NONCE
    S_URI
    S_RESPONSE
    S_ALGORITHM
    S_CNONCE
    S_OPAQUE
    S_QOP
    S_NC
    S_USERHASH
    S_COUNT
    # every credentials value names these (RFC 7616 §3.4); scan_credentials' plain
    # shape, qop'd, adds cnonce, qop and nc
    _S_IDENT = (1 << S_USERNAME) | (1 << S_REALM) | (1 << S_NONCE) | (1 << S_URI) \
        | (1 << S_RESPONSE)
    _S_REQUIRED = _S_IDENT | (1 << S_CNONCE) | (1 << S_QOP) | (1 << S_NC)


cdef inline bint _lit(const char *p, Py_ssize_t n, const char *lit, Py_ssize_t m) noexcept nogil:
    return n == m and memcmp(p, lit, m) == 0


cdef int _scan_name(const char *p, Py_ssize_t n) noexcept nogil:
    """The id of an exact lower-case name the server reads, or -1."""
    if n == 2:
        return S_NC if _lit(p, n, b"nc", 2) else -1
    if n == 3:
        if _lit(p, n, b"uri", 3):
            return S_URI
        return S_QOP if _lit(p, n, b"qop", 3) else -1
    if n == 5:
        if _lit(p, n, b"realm", 5):
            return S_REALM
        return S_NONCE if _lit(p, n, b"nonce", 5) else -1
    if n == 6:
        if _lit(p, n, b"cnonce", 6):
            return S_CNONCE
        return S_OPAQUE if _lit(p, n, b"opaque", 6) else -1
    if n == 8:
        if _lit(p, n, b"username", 8):
            return S_USERNAME
        if _lit(p, n, b"response", 8):
            return S_RESPONSE
        return S_USERHASH if _lit(p, n, b"userhash", 8) else -1
    if n == 9:
        return S_ALGORITHM if _lit(p, n, b"algorithm", 9) else -1
    return -1


cdef int _scan_algorithm(_text t) noexcept nogil:
    """nonce.ALGORITHM_CODES index of a registered token (any case), or -1."""
    if _ieq(t.p, t.n, b"md5", 3):
        return 0
    if _ieq(t.p, t.n, b"md5-sess", 8):
        return 1
    if _ieq(t.p, t.n, b"sha-256", 7):
        return 2
    if _ieq(t.p, t.n, b"sha-256-sess", 12):
        return 3
    if _ieq(t.p, t.n, b"sha-512-256", 11):
        return 4
    if _ieq(t.p, t.n, b"sha-512-256-sess", 16):
        return 5
    return -1


cdef inline int _hexval(char c) noexcept nogil:
    if 0x30 <= c <= 0x39:
        return c - 0x30
    if 0x61 <= c <= 0x66:
        return c - 0x57
    return c - 0x37  # A-F (the caller checked _hex8)


def scan_credentials(value, realm, max_length):
    """The fields of one plain Digest credentials value for ``realm``, or None
    (see _pure_server.scan_credentials)."""
    if type(value) is not str or not isinstance(realm, str):
        raise TypeError("header value and realm must be str")
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value), i
    cdef const char *s
    cdef _text field[S_COUNT]
    cdef _text name, val
    cdef unsigned int seen = 0
    cdef int pid, code = 0, qcode, k
    cdef unsigned long count = 0
    if n > _limit(max_length) or not PyUnicode_IS_ASCII(value):
        return None
    s = <const char *>PyUnicode_1BYTE_DATA(value)
    if n < 7 or not _ieq(s, 6, b"digest", 6) or not _is(<unsigned char>s[6], C_OWS):
        return None
    i = _skip(s, n, 7, C_OWS)
    while i < n:
        i = _plain_pair(s, n, i, &name, &val)
        if i < 0:
            return None
        pid = _scan_name(name.p, name.n)
        if pid < 0 or seen & (1u << pid):
            return None
        seen |= 1u << pid
        field[pid] = val
    if (seen & _S_REQUIRED) != _S_REQUIRED:
        return None
    if not PyUnicode_IS_ASCII(realm) or not _lit(field[S_REALM].p, field[S_REALM].n,
                                                <const char *>PyUnicode_1BYTE_DATA(realm),
                                                PyUnicode_GET_LENGTH(realm)):
        return None
    if seen & (1u << S_ALGORITHM):
        code = _scan_algorithm(field[S_ALGORITHM])
        if code < 0:
            return None
    if _lit(field[S_QOP].p, field[S_QOP].n, b"auth", 4):
        qcode = _QOP_AUTH
    elif _lit(field[S_QOP].p, field[S_QOP].n, b"auth-int", 8):
        qcode = _QOP_AUTH_INT
    else:
        return None
    if not _hex8(field[S_NC]):
        return None
    for k in range(8):
        count = (count << 4) | <unsigned long>_hexval(field[S_NC].p[k])
    return (
        _ascii(<const Py_UCS1 *>field[S_USERNAME].p, field[S_USERNAME].n, False),
        _ascii(<const Py_UCS1 *>field[S_NONCE].p, field[S_NONCE].n, False),
        _ascii(<const Py_UCS1 *>field[S_URI].p, field[S_URI].n, False),
        _ascii(<const Py_UCS1 *>field[S_RESPONSE].p, field[S_RESPONSE].n, False),
        code,
        qcode,
        _ascii(<const Py_UCS1 *>field[S_NC].p, 8, False),
        _ascii(<const Py_UCS1 *>field[S_CNONCE].p, field[S_CNONCE].n, False),
        count,
        bool(seen & (1u << S_USERHASH)
             and _ieq(field[S_USERHASH].p, field[S_USERHASH].n, b"true", 4)),
        _ascii(<const Py_UCS1 *>field[S_OPAQUE].p, field[S_OPAQUE].n, False)
        if seen & (1u << S_OPAQUE) else None,
    )


cdef tuple _MISSING = (-1, None, None)


def find_credentials(headers, lname, realm, start, max_length):
    """(index, value, scan) of the first ``lname`` header from ``start``, (-1, None,
    None) if none, None for headers it does not read (see _pure_server)."""
    if type(lname) is not str or type(start) is not int:
        raise TypeError("lname must be str and start an int")
    if type(headers) is not list and type(headers) is not tuple:
        return None
    cdef Py_ssize_t i = _limit(start), count = len(headers), ln = PyUnicode_GET_LENGTH(lname)
    cdef bint ascii_name = PyUnicode_IS_ASCII(lname)
    cdef const char *want = <const char *>PyUnicode_1BYTE_DATA(lname) if ascii_name else NULL
    cdef object h, n, value
    if i < 0:
        i = 0
    while i < count:
        h = headers[i]
        if type(h) is not tuple or PyTuple_GET_SIZE(h) != 2:
            return None
        n = <object>PyTuple_GET_ITEM(h, 0)
        if type(n) is not str:
            return None
        if (ascii_name and PyUnicode_GET_LENGTH(n) == ln and PyUnicode_IS_ASCII(n)
                and _ieq(<const char *>PyUnicode_1BYTE_DATA(n), ln, want, ln)):
            value = <object>PyTuple_GET_ITEM(h, 1)
            if type(value) is not str:
                return None
            return i, value, scan_credentials(value, realm, max_length)
        i += 1
    return _MISSING


# --------------------------------------------------------------------------------------
# ReplayWindows: _pure_server.ReplayWindows over flat C arrays
#
# Entries live in insertion order in one array (the array is the eviction ring, so an
# entry never moves), ``_stride`` 32-bit words each: key (2), highest count (1), expiry
# (1), then the window mask. With a window of up to 128 counts an entry is 32 bytes and
# the array is 64-byte aligned, so an entry is exactly half a cache line: a check reads
# ONE line of entry (36 bytes with no alignment straddled a line half the time).
#
# The index is open addressing (linear probing, load <= 3/4, backward-shift deletion)
# of 64-bit words: entry number + 1 in the high half (0 = empty), the key's 32-bit hash
# in the low half. The home slot is a function of that hash alone (multiply-shift, any
# table size), so probing past other keys compares hashes inside the index line and
# dereferences no other entry, and deletion moves index words without reading entries.
# A check with a million nonces thus touches two lines (index, entry) instead of ~3.
# Keys are hashed as Python hashes bytes (SipHash under the interpreter's seed), so a
# peer cannot aim collisions at it.
#
# The expiry is stored in 32 bits (whole seconds: until 2106); a larger one (the
# _pure_server._expiry clamp goes to 2**48 - 1) is stored as 0xFFFFFFFF and kept exactly
# in a small dict by entry number, so the watermark is exactly the pure twin's.
# Memory with a 128-count window: 32 bytes of entry + 8 x 4/3 of index, ~43 bytes a
# nonce (it was ~46, with 3 lines touched per check).

cdef uint64_t _EXP_MAXV = (<uint64_t>1 << 48) - 1
cdef uint32_t _EXP_BIG = 0xFFFFFFFF

# A big table (a million nonces: ~43 MB) is read at random: with 4 KiB pages nearly every
# check also misses the TLB. On Linux, ask for transparent huge pages for the whole
# pages inside the block (a hint: ignored where THP is off; only tables of 4 MiB or more).
cdef extern from *:
    """
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    static void sd_hugepages(void *p, size_t n) {
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        size_t a = ((size_t)p + 4095) & ~(size_t)4095, e = ((size_t)p + n) & ~(size_t)4095;
        if (e > a && e - a >= ((size_t)4 << 20))
            (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
    #else
        (void)p; (void)n;
    #endif
    }
    """
    void sd_hugepages(void *p, size_t n) noexcept nogil


cdef uint64_t _replay_expiry(object expires) except? 0xFFFFFFFFFFFFFFFF:
    """_pure_server._expiry."""
    cdef double e
    if type(expires) is not float and type(expires) is not int:
        raise TypeError("expires must be a number")
    if type(expires) is int:
        if expires <= 0:
            return 0 if expires <= -1 else 1
        if expires >= _EXP_MAXV:
            return _EXP_MAXV
        return <uint64_t>(<int64_t>expires) + 1
    e = expires
    if e != e or e == -INFINITY:
        return _EXP_MAXV
    if e <= 0:
        return 0 if e <= -1 else 1
    if e >= <double>_EXP_MAXV:
        return _EXP_MAXV
    return <uint64_t>e + 1  # e > 0: truncation is floor


cdef inline uint64_t _get64(const uint32_t *p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)
    return v


cdef inline void _set64(uint32_t *p, uint64_t v) noexcept nogil:
    memcpy(p, &v, 8)


cdef class ReplayWindows:
    """ReplayWindows(capacity, max_window)
--

Check-and-record of (8-byte key, nonce-count), at most ``capacity`` keys
    (see _pure_server.ReplayWindows)."""

    cdef Py_ssize_t _capacity, _count, _hand, _words, _stride, _max_window
    cdef size_t _isize
    cdef int64_t _watermark
    cdef void *_block          # the allocation _data is aligned within
    cdef uint32_t *_data       # _stride words per entry: key, high, expiry, mask
    cdef uint64_t *_index      # (entry number + 1) << 32 | 32-bit hash; 0 = empty
    cdef uint32_t _top         # the valid bits of an entry's last mask word
    cdef dict _big             # entry number -> expiry, for expiries >= 0xFFFFFFFF

    def __cinit__(self, capacity, max_window):
        if type(capacity) is not int or not 0 < capacity <= 1 << 30:
            raise ValueError("capacity must be a positive int (at most 2**30)")
        if type(max_window) is not int or not 0 < max_window <= 1 << 16:
            raise ValueError("max_window must be a positive int (at most 65536)")
        cdef Py_ssize_t cap = capacity
        self._capacity = cap
        self._max_window = max_window
        self._words = (self._max_window + 31) // 32
        # 8 or 16 words (half a line, a line) when the mask fits, so that no entry
        # straddles two lines; wider windows are long entries anyway
        self._stride = 4 + self._words
        if self._stride <= 8:
            self._stride = 8
        elif self._stride <= 16:
            self._stride = 16
        self._top = 0xFFFFFFFF if self._max_window % 32 == 0 else \
            ((<uint32_t>1 << (self._max_window % 32)) - 1)
        self._isize = <size_t>(cap + cap // 3 + 1)  # load <= 3/4, at least one empty
        self._watermark = -1
        self._big = {}
        if <size_t>cap > (<size_t>PY_SSIZE_T_MAX - 63) // (<size_t>self._stride * sizeof(uint32_t)):
            raise MemoryError()  # only reachable where size_t is 32 bits
        self._block = PyMem_Malloc(cap * self._stride * sizeof(uint32_t) + 63)
        self._index = <uint64_t *>PyMem_Calloc(self._isize, sizeof(uint64_t))
        if self._block == NULL or self._index == NULL:
            raise MemoryError()
        self._data = <uint32_t *>((<size_t>self._block + 63) & ~(<size_t>63))
        sd_hugepages(self._block, cap * self._stride * sizeof(uint32_t) + 63)
        sd_hugepages(self._index, self._isize * sizeof(uint64_t))

    def __dealloc__(self):
        PyMem_Free(self._block)
        PyMem_Free(self._index)

    cdef inline uint32_t *_entry(self, Py_ssize_t slot) noexcept:
        return self._data + slot * self._stride

    cdef inline size_t _home(self, uint32_t h) noexcept:
        return <size_t>((<uint64_t>h * <uint64_t>self._isize) >> 32)

    cdef void _unlink(self, uint32_t h, Py_ssize_t slot) noexcept:
        """Remove entry ``slot`` (hash ``h``) from the index, shifting its probe run back."""
        cdef size_t i = self._home(h), j, home, n = self._isize
        cdef uint64_t e, want = (<uint64_t>(slot + 1) << 32) | h
        while self._index[i] != want:
            i = i + 1 if i + 1 < n else 0
        j = i
        while True:
            j = j + 1 if j + 1 < n else 0
            e = self._index[j]
            if e == 0:
                break
            home = self._home(<uint32_t>e)
            # leave it if its home lies cyclically in (i, j]
            if (i <= j and i < home <= j) or (i > j and (home > i or home <= j)):
                continue
            self._index[i] = e
            i = j
        self._index[i] = 0

    def check_and_record(self, key, nc, window, now, expires):
        """True when ``nc`` is new for ``key`` (and now recorded); see ``ReplayStore``."""
        if type(key) is not bytes or PyBytes_GET_SIZE(key) != 8:
            raise TypeError("key must be 8 bytes")
        if type(nc) is not int or type(window) is not int:
            raise TypeError("nc and window must be int")
        if not 0 <= nc <= 0xFFFFFFFF:
            raise ValueError("nc must be in [0, 2**32)")
        if window > self._max_window:
            raise ValueError("window is larger than this store's max_window")
        cdef uint64_t k, exp, old, e
        cdef uint32_t c = nc, high, h, w32
        cdef size_t i, n = self._isize
        cdef Py_ssize_t slot, w, age, shift, ws, bs, win
        cdef uint32_t *ent = NULL
        cdef uint32_t *m
        memcpy(&k, PyBytes_AS_STRING(key), 8)
        h = <uint32_t>_Py_HashBytes(&k, 8)
        i = self._home(h)
        while True:
            e = self._index[i]
            if e == 0:
                break
            if <uint32_t>e == h:
                ent = self._entry(<Py_ssize_t>(e >> 32) - 1)
                if _get64(ent) == k:
                    break
            i = i + 1 if i + 1 < n else 0
        if e == 0:  # a new key
            exp = _replay_expiry(expires)
            if <int64_t>exp <= self._watermark:
                return False  # it may have been here and been evicted: never fresh again
            slot = self._hand
            ent = self._entry(slot)
            if self._count == self._capacity:  # the ring is full: evict its oldest
                old = ent[3]
                if ent[3] == _EXP_BIG:
                    old = self._big.pop(slot)
                if <int64_t>old > self._watermark:
                    self._watermark = <int64_t>old
                self._unlink(<uint32_t>_Py_HashBytes(ent, 8), slot)
                # the probe run may have moved: find the new key's free slot again
                i = self._home(h)
                while self._index[i] != 0:
                    i = i + 1 if i + 1 < n else 0
            else:
                self._count += 1
            self._hand = slot + 1 if slot + 1 < self._capacity else 0
            _set64(ent, k)
            ent[2] = c
            if exp >= _EXP_BIG:
                self._big[slot] = exp
                ent[3] = _EXP_BIG
            else:
                ent[3] = <uint32_t>exp
            m = ent + 4
            memset(m, 0, self._words * sizeof(uint32_t))
            m[0] = 1
            self._index[i] = (<uint64_t>(slot + 1) << 32) | h
            return True
        if window <= 0:
            return False
        win = window
        high = ent[2]
        m = ent + 4
        if c > high:
            shift = c - high
            ent[2] = c
            if shift >= self._max_window:
                memset(m, 0, self._words * sizeof(uint32_t))
            else:
                ws = shift // 32
                bs = shift % 32
                w = self._words - 1
                while w >= 0:
                    w32 = 0
                    if w - ws >= 0:
                        w32 = m[w - ws] << bs
                        if bs and w - ws - 1 >= 0:
                            w32 |= m[w - ws - 1] >> (32 - bs)
                    m[w] = w32
                    w -= 1
                m[self._words - 1] &= self._top
            m[0] |= 1
            return True
        age = high - c
        if age >= win or (m[age // 32] >> (age % 32)) & 1:
            return False
        m[age // 32] |= <uint32_t>1 << (age % 32)
        return True

    def __len__(self):
        return self._count

    @property
    def capacity(self):
        return self._capacity

    @property
    def max_window(self):
        return self._max_window


# --------------------------------------------------------------------------------------
# mint_challenges: _pure_server.mint_challenges, the payloads packed, MAC'd and the
# values assembled in C

cdef str _challenge_value(const _text *k, str head, str tail, unsigned char *raw):
    """head + base64url(raw[:26] || MAC) + tail; raw holds the payload, 42 bytes."""
    cdef unsigned char mac[32]
    cdef Py_ssize_t nh, nt
    cdef str out
    cdef Py_UCS1 *d
    _hmac(k, raw, 26, mac)
    memcpy(raw + 26, mac, _MAC_LEN)
    if not PyUnicode_IS_ASCII(head) or not PyUnicode_IS_ASCII(tail):
        out = PyUnicode_New(56, 127)
        _b64url_encode(raw, 42, PyUnicode_1BYTE_DATA(out))
        return head + out + tail
    nh = PyUnicode_GET_LENGTH(head)
    nt = PyUnicode_GET_LENGTH(tail)
    out = PyUnicode_New(nh + 56 + nt, 127)
    d = PyUnicode_1BYTE_DATA(out)
    memcpy(d, PyUnicode_1BYTE_DATA(head), nh)
    _b64url_encode(raw, 42, d + nh)
    memcpy(d + nh + 56, PyUnicode_1BYTE_DATA(tail), nt)
    return out


def mint_challenges(key, name, templates, stale, qbits, flags, issued_ms, pool, pos, tag):
    """``((name, head + nonce + tail), ...)`` (see _pure_server.mint_challenges)."""
    if type(name) is not str or type(templates) is not tuple:
        raise TypeError("name must be str and templates a tuple")
    if type(pool) is not bytes or type(pos) is not int:
        raise TypeError("pool must be bytes and pos an int")
    cdef Py_ssize_t at = _limit(pos), count = PyTuple_GET_SIZE(templates), j
    if not 0 <= at <= PyBytes_GET_SIZE(pool) - 8 * count:
        raise ValueError("pool holds too few ids at pos")
    if type(tag) is not bytes or PyBytes_GET_SIZE(tag) != 6:
        raise ValueError("tag must be 6 bytes")
    if type(qbits) is not int or type(flags) is not int or type(issued_ms) is not int:
        raise TypeError("qbits, flags and issued_ms must be int")
    cdef int overflow = 0
    cdef long long issued = PyLong_AsLongLongAndOverflow(issued_ms, &overflow)
    cdef long long c_qbits = PyLong_AsLongLongAndOverflow(qbits, &overflow) if not overflow else -1
    cdef long long c_flags = PyLong_AsLongLongAndOverflow(flags, &overflow) if not overflow else -1
    cdef bint range_ok = not overflow and 0 <= c_qbits <= 255 and 0 <= c_flags <= 255
    cdef long long c_code
    cdef uint64_t u = <uint64_t>issued
    cdef unsigned char raw[42]
    cdef _text k
    cdef bint use_stale = stale
    cdef object t, head, tail, tail_stale, code
    cdef tuple out = PyTuple_New(count) if count else ()
    cdef tuple pair
    k.p = NULL
    raw[0] = 1  # nonce.VERSION
    for j in range(8):
        raw[4 + j] = <unsigned char>(u >> (56 - 8 * j))
    memcpy(raw + 20, PyBytes_AS_STRING(tag), 6)
    for j in range(count):
        t = <object>PyTuple_GET_ITEM(templates, j)
        if type(t) is not tuple or PyTuple_GET_SIZE(t) != 4:
            raise TypeError("a template is (head, tail, stale tail, code)")
        head = <object>PyTuple_GET_ITEM(t, 0)
        tail = <object>PyTuple_GET_ITEM(t, 1)
        tail_stale = <object>PyTuple_GET_ITEM(t, 2)
        code = <object>PyTuple_GET_ITEM(t, 3)
        if type(head) is not str or type(tail) is not str or type(tail_stale) is not str:
            raise TypeError("a template is (head, tail, stale tail, code)")
        if type(code) is not int:
            raise TypeError("a template is (head, tail, stale tail, code)")
        c_code = PyLong_AsLongLongAndOverflow(code, &overflow)
        if not range_ok or overflow or not 0 <= c_code <= 255:
            raise OverflowError("a nonce field is out of range")
        if k.p == NULL:
            _get_text(key, &k)
        raw[1] = <unsigned char>c_code
        raw[2] = <unsigned char>c_qbits
        raw[3] = <unsigned char>c_flags
        memcpy(raw + 12, PyBytes_AS_STRING(pool) + at + 8 * j, 8)
        pair = (name, _challenge_value(&k, head, tail_stale if use_stale else tail, raw))
        Py_INCREF(pair)
        PyTuple_SET_ITEM(out, j, pair)
    return out
