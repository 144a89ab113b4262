#!/usr/bin/env python3
"""A host model of the fp8 V transpose (kernels/sm90/fp8.cuh, transpose_units:
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
    TW = 3; col_units, groups = DV // 32, BN // 16
    V = {(r, c): (r * 7 + c * 13) % 251 + 1 for r in range(BN) for c in range(DV)}
    stage = {}
    for (r, c), v in V.items():
        cc, cb = c // 128, c % 128
        stage[cc * BN * 128 + r * 128 + (((cb // 16) ^ (r % 8)) * 16) + cb % 16] = v
    vt = {}
    ld_ops = collections.defaultdict(list); st_ops = collections.defaultdict(list)
    def prmt(a, b, sel):  # bytes of a (0-3) and b (4-7)
        src = a + b
        return [src[(sel >> (4 * i)) & 0xF] for i in range(4)]
    for warp in range(TW):
        for u in range(warp, groups * col_units, TW):
            group, cu = u // col_units, u % col_units
            kc, g = group // 8, group % 8
            # ldmatrix.trans.x4: lane L addresses row L % 8 of matrix L / 8
            mat_rows = {}
            for lane in range(32):
                mi = lane // 8
                key, col = 16 * group + lane % 8 + 8 * (mi & 1), 32 * cu + 16 * (mi >> 1)
                a = (col // 128) * BN * 128 + key * 128 + ((((col % 128) // 16) ^ (key % 8)) * 16)
                mat_rows[(mi, lane % 8)] = a
                ld_ops[(warp, u, mi)].append(a)
            # lane 4c + t gets, per matrix, b16 element c of rows 2t and 2t + 1
            regs = {}
            for lane in range(32):
                c, t = lane // 4, lane % 4
                r = []
                for mi in range(4):
                    words = []
                    for row in (2 * t, 2 * t + 1):
                        key = 16 * group + row + 8 * (mi & 1)
                        for b in range(2):
                            v = stage.get(mat_rows[(mi, row)] + 2 * c + b)
                            words.append(v if key < valid else 0)
                    r.append(words)
                sel_a = 0x6420 if c < 4 else 0x7531; sel_b = sel_a ^ 0x1111
                regs[lane] = [prmt(r[0], r[1], sel_a), prmt(r[0], r[1], sel_b),
                              prmt(r[2], r[3], sel_a), prmt(r[2], r[3], sel_b)]
            # stmatrix.x4: lane L addresses row L % 8 of matrix L / 8; lanes 4 r + t give row r's bytes 4t
            for lane in range(32):
                mi, cr = lane // 8, lane % 8
                n = 32 * cu + 2 * cr + ((mi & 1) ^ (1 if cr >= 4 else 0)) + 16 * (mi >> 1)
                a = kc * DV * 128 + n * 128 + ((g ^ (n % 8)) * 16)
                st_ops[(warp, u, mi)].append(a)
                for t in range(4):
                    for b in range(4):
                        assert (a + 4 * t + b) not in vt, "written twice"
                        vt[a + 4 * t + b] = regs[4 * cr + t][mi][b]
    # the wgmma K-major read: V^T element (n, k) of key chunk kc
    for n in range(DV):
        for k in range(BN):
            kc, kk = k // 128, k % 128
            a = kc * DV * 128 + (n // 8) * 1024 + (n % 8) * 128 + (((kk // 16) ^ (n % 8)) * 16) + kk % 16
            key = kc * 128 + (kk // 32) * 32 + perm_logical_to_key(kk % 32)
            want = V[(key, n)] if key < valid else 0
            assert vt.get(a) == want, (DV, BN, n, k, vt.get(a), want)
    def conflicts(ops):  # each 8x8 matrix's 8 rows of 16 bytes go in one shared-memory wavefront
        worst = 1
        for addrs in ops.values():
            banks = collections.defaultdict(set)
            for a in addrs:
                for w in range(4): banks[(a // 4 + w) % 32].add(a // 4 + w)
            worst = max(worst, max(len(s) for s in banks.values()))
        return worst
    return conflicts(ld_ops), conflicts(st_ops), len(vt)
for DV, BN in [(64,128),(128,128),(256,128),(64,64),(128,64),(256,64),(128,256),(128,192),(64,192),(256,320)]:
    for valid in (BN, BN - 37, 5):
        ld, st, _ = run(DV, BN, valid)
        assert ld == 1 and st == 1, f"dv {DV} block {BN}: {ld}-way load / {st}-way store bank conflicts"
print("fp8 V transpose model: every key and column in place, no bank conflicts")
