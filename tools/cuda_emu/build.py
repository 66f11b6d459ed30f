"""Builds nnx._cuda for the CUDA-on-CPU emulator (tools/cuda_emu): csrc/cuda/*.cu compiled as C++ against the
stand-in headers in tools/cuda_emu/include, with every kernel<<<...>>>(...) launch rewritten into an
emu::launch(...) call, linked with the real bindings (csrc/bind/module.cpp and the csrc/bind/<family>.cpp of every
family csrc/families.txt binds on cuda, compiled with NNX_BIND_CUDA) into a module in a scratch directory,
plus a naive libcublas (fake_cublas.c) for NNX_CUBLAS_PATH. Objects are cached by content, so a rebuild after
editing one kernel file recompiles only that file. Never touches build/ or the installed package.

    python tools/cuda_emu/build.py [--out DIR] [--jobs N]     (prints the module's path)
    python tools/cuda_emu/build.py --selftest                 (checks the emulator itself, every thread order)
"""
import argparse
import concurrent.futures
import hashlib
import os
import re
import subprocess
import sys
import sysconfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMU = os.path.join(ROOT, "tools", "cuda_emu")
CSRC = os.environ.get("NNX_EMU_CSRC", os.path.join(ROOT, "csrc"))  # another tree: e.g. to try a mutant kernel
# NNX_EMU_SANITIZE=undefined (or address,undefined ...) builds with those sanitizers, in its own directory.
SANITIZE = os.environ.get("NNX_EMU_SANITIZE", "")
DEFAULT_OUT = os.environ.get("NNX_EMU_BUILD", f"/tmp/nnx-cuda-emu-{os.getuid()}"
                             + (f"-{SANITIZE.replace(',', '-')}" if SANITIZE else ""))
SANITIZE_FLAGS = [f"-fsanitize={SANITIZE}", "-fno-sanitize=vptr", "-fno-omit-frame-pointer"] if SANITIZE else []
# NNX_EMU_GRID_CAP=N replaces the kernels' grid cap (65535 * 8 blocks, past which they stride) by N, so that
# every grid-stride loop runs more than one round at test sizes; a kernel that assumes a thread per element fails.
GRID_CAP = os.environ.get("NNX_EMU_GRID_CAP", "")
if GRID_CAP:
    DEFAULT_OUT += f"-cap{GRID_CAP}"

# NNX_DEVICE=cuda in both: the kernels' namespace that csrc/core/<family>.h declares in (as CMakeLists.txt defines it).
KERNEL_FLAGS = ["-x", "c++", "-std=c++17", "-O1", "-g", "-fPIC", "-ffp-contract=off", "-fvisibility=hidden",
                "-Wno-unused-variable", "-I", os.path.join(EMU, "include"), "-I", CSRC,
                "-include", "cuda_runtime.h", "-DNNX_DEVICE=cuda"] + SANITIZE_FLAGS
BIND_FLAGS = ["-std=c++17", "-O1", "-fPIC", "-fvisibility=hidden", "-I", CSRC, "-DNNX_DEVICE=cuda"] + SANITIZE_FLAGS


# --- the launch rewriter ------------------------------------------------------------------------------------

def _split_top_level(text):
    """Splits at commas outside (), [] and {}."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _kernel_start(source, end):
    """Start of the kernel expression (name, qualified name, template arguments) that ends at `end`."""
    i = end
    while i > 0 and source[i - 1].isspace():
        i -= 1
    if source[i - 1] == ">":  # template arguments: walk back to the matching '<'
        depth = 0
        while True:
            i -= 1
            if source[i] == ">":
                depth += 1
            elif source[i] == "<":
                depth -= 1
                if depth == 0:
                    break
    while i > 0 and (source[i - 1].isalnum() or source[i - 1] in "_:"):
        i -= 1
    return i


def _matching_paren(source, open_index):
    depth = 0
    for i in range(open_index, len(source)):
        if source[i] == "(":
            depth += 1
        elif source[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses after a kernel launch")


def rewrite_launches(source, name="<source>"):
    """Every `kernel<<<grid, block[, shared[, stream]]>>>(args...)` becomes an emu::launch call on one line
    span (newlines inside the launch are kept, so line numbers still match the original file)."""
    out, pos = [], 0
    while True:
        open_at = source.find("<<<", pos)
        if open_at < 0:
            out.append(source[pos:])
            return "".join(out)
        close_at = source.find(">>>", open_at)
        start = _kernel_start(source, open_at)
        kernel = source[start:open_at].strip()
        config = _split_top_level(source[open_at + 3:close_at])
        if not 2 <= len(config) <= 4 or not kernel:
            raise ValueError(f"{name}: cannot parse the launch at offset {open_at}: {source[start:close_at + 3]!r}")
        config += ["0", "nullptr"][len(config) - 2:]
        paren = close_at + 3
        while source[paren].isspace():
            paren += 1
        if source[paren] != "(":
            raise ValueError(f"{name}: no argument list after the launch at offset {open_at}")
        args_end = _matching_paren(source, paren)
        args = source[paren + 1:args_end]
        newlines = "\n" * (source.count("\n", start, paren + 1))
        call = (f"::emu::launch(::dim3({config[0]}), ::dim3({config[1]}), static_cast<size_t>({config[2]}), "
                f"(cudaStream_t)({config[3]}), [&](auto&&... emu_args) {{ {kernel}(emu_args...); }}"
                + newlines + ("," if args.strip() else "") + args + ")")
        out.append(source[pos:start])
        out.append(call)
        pos = args_end + 1


# --- building -----------------------------------------------------------------------------------------------

def _headers_digest(bases):
    h = hashlib.sha256()
    for base in bases:
        for directory, _, files in sorted(os.walk(base)):
            for f in sorted(files):
                if f.endswith((".h", ".cuh", ".hpp")) or "." not in f:
                    path = os.path.join(directory, f)
                    h.update(path.encode())
                    with open(path, "rb") as fh:
                        h.update(fh.read())
    return h.hexdigest()


def _cap_grid(text):
    return text.replace("65535 * 8", f"({GRID_CAP})") if GRID_CAP else text


def _compile(command, source_text, obj, key):
    stamp = obj + ".key"
    if os.path.exists(obj) and os.path.exists(stamp) and open(stamp).read() == key:
        return obj, None
    result = subprocess.run(["nice", "-n", "10"] + command + ["-o", obj], input=source_text, text=True,
                            capture_output=True)
    if result.returncode != 0:
        return obj, result.stderr
    with open(stamp, "w") as fh:
        fh.write(key)
    return obj, None


def families(device):
    """The op families that csrc/families.txt binds on `device`, in the file's order."""
    names = []
    with open(os.path.join(CSRC, "families.txt")) as fh:
        for line in fh:
            fields = line.split("#", 1)[0].split()
            if fields and device in fields[1:]:
                names.append(fields[0])
    return names


def build(out_dir, jobs):
    import pybind11
    os.makedirs(os.path.join(out_dir, "obj"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "src"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "nnx"), exist_ok=True)
    for header in os.listdir(os.path.join(CSRC, "cuda")):
        text = open(os.path.join(CSRC, "cuda", header)).read() if header.endswith((".h", ".cuh")) else ""
        if re.search(r"<<<.+?>>>\s*\(", text):
            raise SystemExit(f"csrc/cuda/{header} launches a kernel: the emulator only rewrites .cu files")
    capped_headers = os.path.join(out_dir, "capped")  # csrc/cuda headers with the grid cap replaced
    os.makedirs(os.path.join(capped_headers, "cuda"), exist_ok=True)
    for header in os.listdir(os.path.join(CSRC, "cuda")):
        target = os.path.join(capped_headers, "cuda", header)
        if header.endswith((".h", ".cuh")) and GRID_CAP:
            text = _cap_grid(open(os.path.join(CSRC, "cuda", header)).read())
            if not os.path.exists(target) or open(target).read() != text:
                with open(target, "w") as fh:
                    fh.write(text)
        elif os.path.exists(target):
            os.remove(target)
    headers = _headers_digest((CSRC, os.path.join(EMU, "include"), capped_headers))
    bind_headers = _headers_digest((CSRC,))
    tasks = []
    for name in sorted(os.listdir(os.path.join(CSRC, "cuda"))):
        if not name.endswith(".cu"):
            continue
        path = os.path.join(CSRC, "cuda", name)
        text = f'#line 1 "{path}"\n' + rewrite_launches(_cap_grid(open(path).read()), name)
        with open(os.path.join(out_dir, "src", name + ".cpp"), "w") as fh:
            fh.write(text)
        obj = os.path.join(out_dir, "obj", "kernel_" + name[:-3] + ".o")
        command = ["g++", "-I", capped_headers] + KERNEL_FLAGS + ["-c", "-"]
        key = hashlib.sha256((text + repr(command) + headers).encode()).hexdigest()
        tasks.append((command, text, obj, key))
    bind_flags = BIND_FLAGS + ["-I", pybind11.get_include(), "-I", sysconfig.get_paths()["include"]]
    # As CMakeLists.txt: csrc/bind/module.cpp and each family that csrc/families.txt binds on cuda, compiled with
    # NNX_BIND_CUDA; module.cpp registers them through the generated families.inc.
    generated = os.path.join(out_dir, "gen")
    os.makedirs(generated, exist_ok=True)
    sources, registrations = [os.path.join(CSRC, "bind", "module.cpp")], ""
    for family in families("cuda"):
        sources.append(os.path.join(CSRC, "bind", family + ".cpp"))
        registrations += f"NNX_FAMILY({family})\n"
    inc = os.path.join(generated, "families.inc")
    if not os.path.exists(inc) or open(inc).read() != registrations:
        with open(inc, "w") as fh:
            fh.write(registrations)
    for path in sources:
        name = os.path.basename(path)
        text = f'#line 1 "{path}"\n' + open(path).read()
        obj = os.path.join(out_dir, "obj", "bind_" + name[:-4] + ".o")
        command = ["g++"] + bind_flags + ["-DNNX_BIND_CUDA", "-I", generated, "-x", "c++", "-c", "-",
                                          "-iquote", os.path.join(CSRC, "bind")]
        key = hashlib.sha256((text + repr(command) + bind_headers + registrations).encode()).hexdigest()
        tasks.append((command, text, obj, key))
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for obj, error in pool.map(lambda t: _compile(*t), tasks):
            if error:
                failures.append((obj, error))
    if failures:
        for obj, error in failures:
            sys.stderr.write(f"--- {os.path.basename(obj)}\n{error}\n")
        raise SystemExit(f"{len(failures)} file(s) failed to compile")
    module = os.path.join(out_dir, "nnx", "_cuda" + sysconfig.get_config_var("EXT_SUFFIX"))
    objects = [t[2] for t in tasks]
    subprocess.run(["nice", "-n", "10", "g++", "-shared", "-o", module] + SANITIZE_FLAGS + objects
                   + ["-ldl", "-lpthread"], check=True)
    cublas = os.path.join(out_dir, "libcublas.so.13")
    subprocess.run(["nice", "-n", "10", "gcc", "-shared", "-fPIC", "-O2", "-std=c11", "-o", cublas,
                    os.path.join(EMU, "fake_cublas.c")], check=True)
    return module, cublas


def selftest(out_dir):
    """Builds selftest.cu and runs it under each thread order; exits non-zero if any expectation fails."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(EMU, "selftest.cu")
    text = f'#line 1 "{path}"\n' + rewrite_launches(open(path).read(), "selftest.cu")
    exe = os.path.join(out_dir, "selftest")
    subprocess.run(["nice", "-n", "10", "g++"] + KERNEL_FLAGS + ["-", "-o", exe], input=text, text=True, check=True)
    status = 0
    for order in ("forward", "reverse", "shuffle", "breadth"):
        print(f"--- NNX_EMU_ORDER={order}", flush=True)
        status |= subprocess.run([exe], env=dict(os.environ, NNX_EMU_ORDER=order)).returncode
    return status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--selftest", action="store_true", help="check the emulator itself")
    args = parser.parse_args()
    if args.selftest:
        raise SystemExit(selftest(args.out))
    module, _ = build(args.out, args.jobs)
    print(module)


if __name__ == "__main__":
    main()
