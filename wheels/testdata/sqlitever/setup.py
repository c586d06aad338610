# A cffi API-mode project linking the system libsqlite3: the fixture
# pypyctl's wheel tests build, check, repair and install.
from setuptools import setup

setup(
    name="sqlitever",
    version="1.0",
    packages=["sqlitever"],
    package_dir={"": "src"},
    cffi_modules=["build_sqlitever.py:ffibuilder"],
    zip_safe=False,
)
