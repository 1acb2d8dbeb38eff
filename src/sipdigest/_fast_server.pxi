# The server machine's C twin functions, included at the end of _fast.pyx (so they see
# its cdef helpers). Their pure-Python twins live in _pure_server.py, whose __all__
# lists the names both twins must expose.
