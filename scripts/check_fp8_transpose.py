#!/usr/bin/env python3
"""A host model of the fp8 V transpose (kernels/sm90/fp8.cuh, transpose_chunk:
keep the two in step). For dv / key-block pairs it moves a V block from the
staging layout TMA writes (128-byte swizzle) to V^T, then checks that every
key / column lands where the K-major wgmma read of O += P V expects it (keys
permuted per 32-key chunk to match P's registers), that keys past `valid`
are 0, that nothing is written twice, and that no warp's load or store
instruction has a shared-memory bank conflict. Run: python3 scripts/check_fp8_transpose.py
"""
import itertools, collections
def perm_logical_to_key(L):  # logical k within 32-chunk -> actual key
    h, t, q, e = L // 16, (L % 16) // 4, (L % 4) // 2, L % 2
    return 16*h + 8*q + 2*t + e
def run(DV, BN, valid):
    units = DV // 16; TW = 3
    V = {(r, c): (r * 7 + c * 13) % 251 + 1 for r in range(BN) for c in range(DV)}
    stage = {}
    for (r, c), v in V.items():
        cc, cb = c // 128, c % 128
        stage[cc * BN * 128 + r * 128 + (((cb // 16) ^ (r % 8)) * 16) + cb % 16] = v
    vt = {}
    ld_ops = collections.defaultdict(list); st_ops = collections.defaultdict(list)
    for tid in range(32 * TW):
        warp, lane = tid // 32, tid % 32; m, t = lane // 4, lane % 4; h = m // 4
        for kc in range((BN + 127) // 128):
            half = BN - kc * 128 == 64
            kg = m % 4 if half else m
            key0 = kc * 128 + 16 * kg + 2 * t
            keep = [valid > key0 + o for o in (0, 1, 8, 9)]
            for xi, x in enumerate(range(warp, units // 2 if half else units, TW)):
                unit = 2 * x + h if half else x ^ h
                src = (unit // 8) * BN * 128 + key0 * 128; uu = (unit % 8) ^ (2 * t)
                for y in range(4):
                    word = ((kg + y) % 4) ^ (h if half else 0)
                    a0 = src + uu * 16 + word * 4; a1 = src + 128 + (uu ^ 1) * 16 + word * 4
                    addrs = [a0, a1, a0 + 1024, a1 + 1024]
                    w = []
                    for i, a in enumerate(addrs):
                        ld_ops[(warp, kc, xi, y, i)].append(a)
                        w.append([stage.get(a + b, None) if keep[i] else 0 for b in range(4)])
                    dst = kc * DV * 128 + (unit * 16 + word * 4) * 128 + 4 * t
                    um = kg ^ (4 * (word & 1))
                    for j in range(4):
                        a = dst + j * 128 + (um ^ j) * 16
                        st_ops[(warp, kc, xi, y, j)].append(a)
                        for i in range(4):
                            assert (a + i) not in vt, "written twice"
                            vt[a + i] = w[i][j]
    # the wgmma K-major read: V^T element (n, k) of key chunk kc
    for n in range(DV):
        for k in range(BN):
            kc, kk = k // 128, k % 128
            a = kc * DV * 128 + (n // 8) * 1024 + (n % 8) * 128 + (((kk // 16) ^ (n % 8)) * 16) + kk % 16
            key = kc * 128 + (kk // 32) * 32 + perm_logical_to_key(kk % 32)
            want = V[(key, n)] if key < valid else 0
            assert vt.get(a) == want, (DV, BN, n, k, vt.get(a), want)
    def conflicts(ops):
        worst = 1
        for addrs in ops.values():
            banks = collections.defaultdict(set)
            for a in addrs: banks[(a // 4) % 32].add(a // 4)
            worst = max(worst, max(len(s) for s in banks.values()))
        return worst
    return conflicts(ld_ops), conflicts(st_ops), len(vt)
for DV, BN in [(64,128),(128,128),(256,128),(64,64),(128,64),(256,64),(128,256),(128,192),(64,192),(256,320)]:
    for valid in (BN, BN - 37, 5):
        ld, st, _ = run(DV, BN, valid)
        assert ld == 1 and st == 1, f"dv {DV} block {BN}: {ld}-way load / {st}-way store bank conflicts"
print("fp8 V transpose model: every key and column in place, no bank conflicts")
