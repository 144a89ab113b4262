"""One line per cached kernel: MMA instruction count, local-memory loads /
stores (LDL / STL: spills), wgmma waits (DEPBAR; SERIAL when ptxas waits
after every wgmma) and register use, from cuobjdump. Used by the
`sass` step of scripts/gpu_check.sh (sm80: HMMA) and gpu_check_sm90.sh
(sm90: HGMMA and the fp8 kernels' QGMMA, sm90 kernels only). With several
opcodes (comma-separated) each is counted and MMA= gives their sum.

  python3 scripts/sass_summary.py CACHE_DIR LOG --mma HMMA [--kernel sm90] [--limit 80]
"""
import argparse
import glob
import os
import subprocess
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cache", help="the JIT cache (FA3JIT_CACHE_DIR)")
    ap.add_argument("log", help="where the lines go")
    ap.add_argument("--mma", required=True, help="the MMA opcode(s) to count (HMMA, HGMMA or HGMMA,QGMMA)")
    ap.add_argument("--kernel", default="", help="only kernels whose name contains this")
    ap.add_argument("--limit", type=int, default=0, help="at most this many cache entries (0: all)")
    a = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(a.cache, "*.cubin")))
    if a.limit:
        paths = paths[: a.limit]
    with open(a.log, "w") as out:
        for path in paths:
            # Cache entries wrap the cubin; cut from the ELF magic.
            data = open(path, "rb").read()
            at = data.find(b"\x7fELF")
            if at < 0:
                continue
            with tempfile.NamedTemporaryFile(suffix=".cubin", delete=False) as t:
                t.write(data[at:])
            sass = subprocess.run(["cuobjdump", "-sass", t.name], capture_output=True, text=True).stdout
            res = subprocess.run(["cuobjdump", "-res-usage", t.name], capture_output=True, text=True).stdout
            os.unlink(t.name)
            names = [l.split("Function ")[1].rstrip(" :") for l in res.splitlines() if "Function " in l]
            if a.kernel and not any(a.kernel in n for n in names):
                continue
            usage = " | ".join(l.strip() for l in res.splitlines() if "REG:" in l)
            ops = a.mma.split(",")
            n = {op: sass.count(op) for op in ops}
            counts = " ".join(f"{op}={c}" for op, c in n.items())
            if len(ops) > 1:
                counts += f" MMA={sum(n.values())}"
            # SERIAL: ptxas waits after every wgmma (a WARPGROUP.DEPBAR per
            # MMA) when it cannot prove the accumulators untouched while in
            # flight; session 6's cross-tile S prefetch did that and ran 25%
            # slower, which this shows without a GPU
            wgmma = sum(c for op, c in n.items() if "GMMA" in op)
            depbar = sass.count("WARPGROUP.DEPBAR")
            serial = " SERIAL" if wgmma > 0 and depbar >= wgmma else ""
            print(f"{os.path.basename(path)[:12]} {names[:1]} {counts} LDL={sass.count('LDL')} "
                  f"STL={sass.count('STL')} DEPBAR={depbar}{serial} {usage}", file=out)


if __name__ == "__main__":
    main()
