// Transpose / permute copies, by element size (the element type does not
// matter for a copy). `meta` holds the output shape (ndim values) then, per
// output axis, the element stride of the input along it (the input's
// strides permuted). 2-d transposes of 4- and 8-byte elements use a tiled
// kernel through shared memory so both reads and writes coalesce.

#define FLOE_PERMUTE(T)                                                                        \
    extern "C" __global__ void floe_permute_##T(T* __restrict__ out, const T* __restrict__ in, \
                                                const i64* __restrict__ meta, i64 n, int ndim) { \
        const i64 step = (i64)gridDim.x * blockDim.x;                                          \
        for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step)             \
            out[i] = in[floe_offset(i, meta, meta + ndim, ndim)];                              \
    }

FLOE_PERMUTE(u8)
FLOE_PERMUTE(u16)
FLOE_PERMUTE(u32)
FLOE_PERMUTE(u64)

// out (cols x rows) = transpose of in (rows x cols); block (32, 8), grid
// (ceil(cols / 32), ceil(rows / 32))
#define FLOE_TRANSPOSE2D(T)                                                                     \
    extern "C" __global__ void floe_transpose2d_##T(T* __restrict__ out, const T* __restrict__ in, \
                                                    i64 rows, i64 cols) {                       \
        __shared__ T tile[32][33];                                                              \
        i64 c = (i64)blockIdx.x * 32 + threadIdx.x;                                             \
        i64 r0 = (i64)blockIdx.y * 32;                                                          \
        for (int k = threadIdx.y; k < 32; k += 8) {                                             \
            i64 r = r0 + k;                                                                     \
            if (r < rows && c < cols) tile[k][threadIdx.x] = in[r * cols + c];                  \
        }                                                                                       \
        __syncthreads();                                                                        \
        i64 oc = r0 + threadIdx.x;                                                              \
        for (int k = threadIdx.y; k < 32; k += 8) {                                             \
            i64 orow = (i64)blockIdx.x * 32 + k;                                                \
            if (orow < cols && oc < rows) out[orow * rows + oc] = tile[threadIdx.x][k];         \
        }                                                                                       \
    }

FLOE_TRANSPOSE2D(u32)
FLOE_TRANSPOSE2D(u64)
