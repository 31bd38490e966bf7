"""pip install ./python: builds tern's extension with CMake from this repository (offline: every
dependency is a Debian package, nothing is downloaded) and installs the tern package.

TERN_BUILD_DIR=<a configured tern build> reuses that build instead of configuring a new one;
TERN_SOURCE_DIR=<the repository> when this folder was copied elsewhere.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("TERN_SOURCE_DIR") or HERE.parent)   # the repository (CMake sources)


def version() -> str:
    header = (ROOT / "include" / "tern" / "version.h").read_text() if (ROOT / "include").exists() else ""
    found = re.search(r'kVersion = "([^"]+)"', header)
    return found.group(1) if found else "0.0.0"


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        build_dir = Path(os.environ.get("TERN_BUILD_DIR") or Path(self.build_temp) / "cmake").resolve()
        if not (build_dir / "CMakeCache.txt").exists():
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                            "-DTERN_BUILD_TESTS=OFF", "-DTERN_BUILD_BENCH=OFF", f"-DPython_EXECUTABLE={sys.executable}"],
                           check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "tern_python", "-j", str(os.cpu_count() or 1)],
                       check=True)
        built = build_dir / "python" / "tern" / Path(self.get_ext_filename(ext.name)).name
        if not built.exists():
            sys.exit(f"tern: {built} was not built (is python3-pybind11 installed, and is {build_dir} "
                     f"configured for this Python?)")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(
    name="tern",
    version=version(),
    description="Fast, exact inference of ternary and complex-valued language models on CPUs",
    packages=["tern"],
    package_data={"tern": ["py.typed", "_tern.pyi"]},
    ext_modules=[Extension("tern._tern", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    zip_safe=False,
)
