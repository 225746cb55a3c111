#!/usr/bin/env python3
"""Minimax fit of the sin polynomial in src/exec/cpu/vmath.rs (SIN_S).

sin r ~= r + r^3 S(r^2) on |r| <= pi/2, S of degree D in z = r^2, chosen by
Remez exchange to minimise the largest relative error of sin. Needs mpmath.
Usage: python3 scripts/remez_sin.py [D ...]   (vmath uses D = 7)
Prints the largest relative error and the coefficients as Rust literals.
"""
import mpmath as mp
mp.mp.dps = 60
Z = (mp.pi/2)**2
def g(z):
    if z == 0: return mp.mpf(-1)/6
    r = mp.sqrt(z); return (mp.sin(r) - r)/r**3
def w(z):
    if z == 0: return mp.mpf(1)
    r = mp.sqrt(z); return r**3/mp.sin(r)
def remez(d, iters=30):
    n = d + 2
    xs = [Z*(1 - mp.cos(mp.pi*i/(n-1)))/2 for i in range(n)]
    for it in range(iters):
        # solve sum c_k x^k + (-1)^i E / w(x) = g(x)
        A = mp.matrix(n, n); b = mp.matrix(n, 1)
        for i, x in enumerate(xs):
            for k in range(d+1): A[i, k] = x**k
            A[i, d+1] = (-1)**i / w(x)
            b[i] = g(x)
        s = mp.lu_solve(A, b)
        c = [s[k] for k in range(d+1)]; E = s[d+1]
        err = lambda x: w(x)*(mp.polyval(c[::-1], x) - g(x))
        # find extrema on a fine grid then refine
        grid = [Z*i/4000 for i in range(4001)]
        ev = [err(x) for x in grid]
        ext = []
        for i in range(len(grid)):
            l = ev[i-1] if i > 0 else None; r = ev[i+1] if i < len(grid)-1 else None
            v = ev[i]
            if (l is None or abs(v) >= abs(l)) and (r is None or abs(v) >= abs(r)):
                ext.append(grid[i])
        # keep alternating extrema, n of them
        pts = []
        for x in ext:
            e = err(x)
            if pts and mp.sign(err(pts[-1])) == mp.sign(e):
                if abs(e) > abs(err(pts[-1])): pts[-1] = x
            else: pts.append(x)
        while len(pts) > n:
            # drop smaller end
            if abs(err(pts[0])) < abs(err(pts[-1])): pts.pop(0)
            else: pts.pop()
        if len(pts) < n: break
        xs = pts
    mx = max(abs(v) for v in ev)
    return c, E, mx
import sys
for d in [int(a) for a in sys.argv[1:]] or [7]:
    c, E, mx = remez(d)
    print(d, "max rel err", mp.nstr(mx, 5), "log2", mp.nstr(mp.log(mx, 2), 5))
    for k, ck in enumerate(c):
        f = float(ck)
        print(f"    {f!r},  // z^{k}")
