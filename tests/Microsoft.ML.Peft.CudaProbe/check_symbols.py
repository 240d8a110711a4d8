#!/usr/bin/env python3
"""Which symbols that libLibTorchSharp.so (TorchSharp 0.107, built for libtorch 2.10) imports are missing from a libtorch.

Usage: check_symbols.py TORCH_LIB_DIR libtorchsharp-undefined.txt
Loads the torch libraries of TORCH_LIB_DIR with RTLD_GLOBAL (no 'import torch') and dlsym()s every name in the list.
A missing function makes TorchSharp die with 'symbol lookup error' only when that function is first called (lazy
binding); a missing data symbol (vtable _ZTV, typeinfo _ZTI/_ZTS, a variable) already fails the load of
libLibTorchSharp.so.
"""
import ctypes, os, shutil, subprocess, sys

libdir, symfile = sys.argv[1], sys.argv[2]
for name in ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"]:
    path = os.path.join(libdir, name)
    if not os.path.exists(path):
        print(f"symcheck: {name} not in {libdir}")
        continue
    try:
        ctypes.CDLL(path, mode=os.RTLD_GLOBAL | os.RTLD_LAZY)
        print(f"symcheck: loaded {path}")
    except OSError as e:
        print(f"symcheck: FAILED to load {path}: {e}")

everything = ctypes.CDLL(None)  # the global scope: the RTLD_GLOBAL libraries above
symbols = [s.strip() for s in open(symfile) if s.strip()]
missing = []
for s in symbols:
    try:
        everything[s]
    except AttributeError:
        missing.append(s)
print(f"symcheck: {len(symbols)} symbols imported by libLibTorchSharp.so from libtorch/c10, {len(missing)} missing")
if missing:
    names = missing
    if shutil.which("c++filt"):
        demangled = subprocess.run(["c++filt"], input="\n".join(missing), capture_output=True, text=True).stdout.split("\n")
        names = [f"{d}   [{m}]" for m, d in zip(missing, demangled)]
    for n in names[:80]:
        print("symcheck: missing " + n)
    if len(names) > 80:
        print(f"symcheck: ... and {len(names) - 80} more")
    data = [m for m in missing if m.startswith(("_ZTV", "_ZTI", "_ZTS"))]
    print(f"symcheck: of which vtables/typeinfo: {len(data)}")
