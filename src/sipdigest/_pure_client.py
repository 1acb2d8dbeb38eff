"""The client machine's pure-Python twin functions (their C twins: _fast_client.pxi).

``__all__`` is the list both twins expose; ``_impl`` binds each name from the twin in use.
"""

from __future__ import annotations

__all__: list[str] = []
