// Counter-based random numbers, the same function as src/rng.rs
// (Philox4x32-10): the value at flat index i of an array depends on
// (seed, i) only. Uniform values are bit-identical to the CPU's (integer
// arithmetic, then one exact scaling and `lo + w * u` without FMA); normal
// values use log/sqrt/cos, whose CUDA implementations may differ from the
// host's libm in the last bit.
//
// Kernels fill one block of an array: `meta` holds the block shape (ndim
// values), then the block's start in the array (ndim), then the array's
// row-major strides (ndim); element j of the block (row-major) has flat
// index sum_k (start[k] + idx_k(j)) * strides[k].

#define FLOE_M0 0xD2511F53u
#define FLOE_M1 0xCD9E8D57u
#define FLOE_W0 0x9E3779B9u
#define FLOE_W1 0xBB67AE85u

__device__ __forceinline__ void floe_philox(u32 c[4], u32 k0, u32 k1) {
    for (int r = 0; r < 10; ++r) {
        u32 hi0 = __umulhi(FLOE_M0, c[0]), lo0 = FLOE_M0 * c[0];
        u32 hi1 = __umulhi(FLOE_M1, c[2]), lo1 = FLOE_M1 * c[2];
        u32 n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
        k0 += FLOE_W0;
        k1 += FLOE_W1;
    }
}

__device__ __forceinline__ void floe_block(u64 seed, u64 counter, u32 out[4]) {
    out[0] = (u32)counter; out[1] = (u32)(counter >> 32); out[2] = 0; out[3] = 0;
    floe_philox(out, (u32)seed, (u32)(seed >> 32));
}

__device__ __forceinline__ f64 floe_to_unit(u32 hi, u32 lo) {
    u64 x = ((u64)hi << 32) | (u64)lo;
    return (f64)(x >> 11) * (1.0 / 9007199254740992.0);
}

__device__ __forceinline__ f64 floe_uniform01(u64 seed, u64 i) {
    u32 r[4];
    floe_block(seed, i >> 1, r);
    return (i & 1) == 0 ? floe_to_unit(r[0], r[1]) : floe_to_unit(r[2], r[3]);
}

__device__ __forceinline__ f64 floe_standard_normal(u64 seed, u64 i) {
    u32 r[4];
    floe_block(seed ^ 0x5DEECE66D1CE4E5Bull, i, r);
    f64 u1 = floe_to_unit(r[0], r[1]);
    f64 u2 = floe_to_unit(r[2], r[3]);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

__device__ __forceinline__ u64 floe_flat_index(i64 j, const i64* meta, int ndim) {
    u64 flat = 0;
    for (int d = ndim - 1; d >= 0; --d) {
        i64 s = meta[d];
        i64 k = j % s;
        j /= s;
        flat += (u64)(meta[ndim + d] + k) * (u64)meta[2 * ndim + d];
    }
    return flat;
}

// out[j] = a + (b - a) * uniform01(seed, flat(j))
extern "C" __global__ void floe_random_uniform(f64* __restrict__ out, const i64* __restrict__ meta, i64 n, int ndim,
                                               u64 seed, f64 a, f64 b) {
    const f64 w = b - a;
    const i64 step = (i64)gridDim.x * blockDim.x;
    for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step)
        out[j] = a + w * floe_uniform01(seed, floe_flat_index(j, meta, ndim));
}

// out[j] = a + b * standard_normal(seed, flat(j))
extern "C" __global__ void floe_random_normal(f64* __restrict__ out, const i64* __restrict__ meta, i64 n, int ndim,
                                              u64 seed, f64 a, f64 b) {
    const i64 step = (i64)gridDim.x * blockDim.x;
    for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += step)
        out[j] = a + b * floe_standard_normal(seed, floe_flat_index(j, meta, ndim));
}

// The raw Philox block of counter `c` and key `key` (for known-answer tests):
// out[4 * t .. 4 * t + 4] for t in 0..n with counter c + t.
extern "C" __global__ void floe_philox_blocks(u32* __restrict__ out, u64 c, u64 key, i64 n) {
    const i64 step = (i64)gridDim.x * blockDim.x;
    for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += step) {
        u32 r[4];
        floe_block(key, c + (u64)t, r);
        for (int k = 0; k < 4; ++k) out[4 * t + k] = r[k];
    }
}
