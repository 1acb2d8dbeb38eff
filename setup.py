"""Decides only how to build ``sipdigest._fast``; all metadata lives in pyproject.toml.

``SIPDIGEST_NO_EXTENSIONS=1`` skips the extension; ``SIPDIGEST_REQUIRE_EXTENSIONS=1``
makes a failed build fatal instead of falling back to the pure-Python twin.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


class OptionalBuildExt(build_ext):
    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            if _flag("SIPDIGEST_REQUIRE_EXTENSIONS"):
                raise
            print(f"sipdigest: building the extension failed ({exc}); using pure Python")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            if _flag("SIPDIGEST_REQUIRE_EXTENSIONS"):
                raise
            print(f"sipdigest: building {ext.name} failed ({exc}); using pure Python")


ext_modules = []
if not _flag("SIPDIGEST_NO_EXTENSIONS") and sys.implementation.name == "cpython":
    from Cython.Build import cythonize

    cflags = ["-O3"] if os.name != "nt" else []
    if _flag("SIPDIGEST_SANITIZE"):
        cflags = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined"]
    ext = Extension(
        "sipdigest._fast",
        ["src/sipdigest/_fast.pyx"],
        include_dirs=["src/sipdigest"],
        depends=["src/sipdigest/_sdhash.h", "src/sipdigest/_fast_server.pxi", "src/sipdigest/_fast_client.pxi"],
        extra_compile_args=cflags,
        extra_link_args=["-fsanitize=address,undefined"] if _flag("SIPDIGEST_SANITIZE") else [],
    )
    ext_modules = cythonize(
        [ext],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
