// Fills: every element the same bit pattern (by element size: a value of
// any element type is passed as its bits), and identity-matrix blocks.

#define FLOE_FILL(T)                                                                                \
    extern "C" __global__ void floe_fill_##T(T* __restrict__ out, T value, i64 n) {                 \
        const i64 step = (i64)gridDim.x * blockDim.x;                                               \
        for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) out[i] = value;  \
    }
FLOE_FILL(u8)
FLOE_FILL(u16)
FLOE_FILL(u32)
FLOE_FILL(u64)

// a (rows x cols) block starting at (r0, c0) of an identity matrix: `one`
// on the diagonal, zero bits elsewhere
#define FLOE_EYE(T)                                                                                 \
    extern "C" __global__ void floe_eye_##T(T* __restrict__ out, T one, i64 rows, i64 cols, i64 r0, i64 c0) { \
        const i64 n = rows * cols;                                                                  \
        const i64 step = (i64)gridDim.x * blockDim.x;                                               \
        for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step)                  \
            out[i] = (r0 + i / cols == c0 + i % cols) ? one : (T)0;                                 \
    }
FLOE_EYE(u8)
FLOE_EYE(u16)
FLOE_EYE(u32)
FLOE_EYE(u64)
