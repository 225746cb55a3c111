// Axis reductions. The input block is viewed as (outer, len, inner),
// row-major and contiguous, the reduced axes being the middle one (permute
// with permute.cu first when they are not adjacent); the output has
// outer * inner elements, one thread each (threads next to each other read
// neighbouring `inner` elements, so the loads coalesce when inner > 1).
// `off` is the global index of the first element along the reduced axis
// (arg-reductions). Each kernel writes the fields of the CPU partial of the
// same kind (src/exec/cpu/reduce.rs), one array per field.

#define FLOE_AXIS_LOOP                                                        \
    const i64 nout = outer * inner;                                           \
    const i64 step = (i64)gridDim.x * blockDim.x;                             \
    for (i64 o = (i64)blockIdx.x * blockDim.x + threadIdx.x; o < nout; o += step) { \
        const i64 oi = o / inner, ii = o % inner;                             \
        const T* p = in + oi * len * inner + ii;

template <typename T, typename S>
__device__ void axis_sum(S* out, const T* in, i64 outer, i64 len, i64 inner, bool skip_nan) {
    FLOE_AXIS_LOOP
        S acc = (S)0;
        for (i64 k = 0; k < len; ++k) {
            T v = p[k * inner];
            if (skip_nan && op_isnan(v)) continue;
            acc = op_add(acc, cvt<S>(v));
        }
        out[o] = acc;
    }
}

template <typename T, typename S>
__device__ void axis_prod(S* out, const T* in, i64 outer, i64 len, i64 inner) {
    FLOE_AXIS_LOOP
        S acc = (S)1;
        for (i64 k = 0; k < len; ++k) acc = op_mul(acc, cvt<S>(p[k * inner]));
        out[o] = acc;
    }
}

// min / max; with `count`, NaN are skipped and counted out (nanmin/nanmax)
template <typename T>
__device__ void axis_minmax(T* out, i64* count, const T* in, i64 outer, i64 len, i64 inner, bool is_min) {
    FLOE_AXIS_LOOP
        T acc = is_min ? Lim<T>::highest() : Lim<T>::lowest();
        i64 c = 0;
        for (i64 k = 0; k < len; ++k) {
            T v = p[k * inner];
            if (count) {
                if (op_isnan(v)) continue;
                c += 1;
            }
            acc = is_min ? op_min(acc, v) : op_max(acc, v);
        }
        out[o] = acc;
        if (count) count[o] = c;
    }
}

template <typename T>
__device__ void axis_anyall(bool* out, const T* in, i64 outer, i64 len, i64 inner, bool any) {
    FLOE_AXIS_LOOP
        bool acc = !any;
        for (i64 k = 0; k < len; ++k) {
            bool v = cvt<bool>(p[k * inner]);
            acc = any ? (acc | v) : (acc & v);
        }
        out[o] = acc;
    }
}

// candidate (x, i) beats the best (b, j): an empty best (j < 0) always
// loses, NaN wins (the first one), ties go to the smaller index
template <typename T>
__device__ __forceinline__ bool arg_better(bool is_min, T x, i64 i, T b, i64 j) {
    if (j < 0) return i >= 0;
    if (i < 0) return false;
    bool xn = op_isnan(x), bn = op_isnan(b);
    if (xn && bn) return i < j;
    if (xn) return true;
    if (bn) return false;
    if (x == b) return i < j;
    return is_min ? x < b : x > b;
}

template <typename T>
__device__ void axis_arg(T* val, i64* idx, const T* in, i64 outer, i64 len, i64 inner, i64 off, bool is_min) {
    FLOE_AXIS_LOOP
        T best = is_min ? Lim<T>::highest() : Lim<T>::lowest();
        i64 bi = -1;
        for (i64 k = 0; k < len; ++k) {
            T v = p[k * inner];
            if (arg_better(is_min, v, off + k, best, bi)) { best = v; bi = off + k; }
        }
        val[o] = best;
        idx[o] = bi;
    }
}

// sum and count of the values of one lane (NaNs left out with skip_nan)
template <typename T>
__device__ void sum_count(const T* p, i64 len, i64 inner, bool skip_nan, f64& s, f64& c) {
    for (i64 k = 0; k < len; ++k) {
        f64 v = cvt<f64>(p[k * inner]);
        if (skip_nan && v != v) continue;
        s = s + v;
        c = c + 1.0;
    }
}

// mean partial: (sum, count) in f64
template <typename T>
__device__ void axis_mean(f64* sum, f64* count, const T* in, i64 outer, i64 len, i64 inner, bool skip_nan) {
    FLOE_AXIS_LOOP
        f64 s = 0.0, c = 0.0;
        sum_count(p, len, inner, skip_nan, s, c);
        sum[o] = s;
        count[o] = c;
    }
}

// var/std partial: (count, mean, M2) in f64, two passes
template <typename T>
__device__ void axis_moments(f64* count, f64* mean, f64* m2, const T* in, i64 outer, i64 len, i64 inner, bool skip_nan) {
    FLOE_AXIS_LOOP
        f64 s = 0.0, c = 0.0;
        sum_count(p, len, inner, skip_nan, s, c);
        f64 m = c > 0.0 ? s / c : 0.0, q = 0.0;
        if (c > 0.0) {
            for (i64 k = 0; k < len; ++k) {
                f64 v = cvt<f64>(p[k * inner]);
                if (skip_nan && v != v) continue;
                q = q + (v - m) * (v - m);
            }
        }
        count[o] = c;
        mean[o] = m;
        m2[o] = q;
    }
}

#define FLOE_AXIS_ORDERED(T)                                                                                        \
    extern "C" __global__ void floe_axis_min_##T(T* out, const T* in, i64 outer, i64 len, i64 inner) {              \
        axis_minmax<T>(out, (i64*)0, in, outer, len, inner, true); }                                               \
    extern "C" __global__ void floe_axis_max_##T(T* out, const T* in, i64 outer, i64 len, i64 inner) {              \
        axis_minmax<T>(out, (i64*)0, in, outer, len, inner, false); }                                              \
    extern "C" __global__ void floe_axis_nanmin_##T(T* out, i64* count, const T* in, i64 outer, i64 len, i64 inner) { \
        axis_minmax<T>(out, count, in, outer, len, inner, true); }                                                 \
    extern "C" __global__ void floe_axis_nanmax_##T(T* out, i64* count, const T* in, i64 outer, i64 len, i64 inner) { \
        axis_minmax<T>(out, count, in, outer, len, inner, false); }                                                \
    extern "C" __global__ void floe_axis_any_##T(bool* out, const T* in, i64 outer, i64 len, i64 inner) {           \
        axis_anyall<T>(out, in, outer, len, inner, true); }                                                        \
    extern "C" __global__ void floe_axis_all_##T(bool* out, const T* in, i64 outer, i64 len, i64 inner) {           \
        axis_anyall<T>(out, in, outer, len, inner, false); }                                                       \
    extern "C" __global__ void floe_axis_argmin_##T(T* val, i64* idx, const T* in, i64 outer, i64 len, i64 inner, i64 off) { \
        axis_arg<T>(val, idx, in, outer, len, inner, off, true); }                                                 \
    extern "C" __global__ void floe_axis_argmax_##T(T* val, i64* idx, const T* in, i64 outer, i64 len, i64 inner, i64 off) { \
        axis_arg<T>(val, idx, in, outer, len, inner, off, false); }

#define FLOE_AXIS_NUMERIC(T, S)                                                                                     \
    FLOE_AXIS_ORDERED(T)                                                                                            \
    extern "C" __global__ void floe_axis_sum_##T(S* out, const T* in, i64 outer, i64 len, i64 inner) {              \
        axis_sum<T, S>(out, in, outer, len, inner, false); }                                                       \
    extern "C" __global__ void floe_axis_nansum_##T(S* out, const T* in, i64 outer, i64 len, i64 inner) {           \
        axis_sum<T, S>(out, in, outer, len, inner, true); }                                                        \
    extern "C" __global__ void floe_axis_prod_##T(S* out, const T* in, i64 outer, i64 len, i64 inner) {             \
        axis_prod<T, S>(out, in, outer, len, inner); }                                                             \
    extern "C" __global__ void floe_axis_mean_##T(f64* sum, f64* count, const T* in, i64 outer, i64 len, i64 inner) { \
        axis_mean<T>(sum, count, in, outer, len, inner, false); }                                                  \
    extern "C" __global__ void floe_axis_nanmean_##T(f64* sum, f64* count, const T* in, i64 outer, i64 len, i64 inner) { \
        axis_mean<T>(sum, count, in, outer, len, inner, true); }                                                   \
    extern "C" __global__ void floe_axis_moments_##T(f64* count, f64* mean, f64* m2, const T* in, i64 outer, i64 len, i64 inner) { \
        axis_moments<T>(count, mean, m2, in, outer, len, inner, false); }                                          \
    extern "C" __global__ void floe_axis_nanmoments_##T(f64* count, f64* mean, f64* m2, const T* in, i64 outer, i64 len, i64 inner) { \
        axis_moments<T>(count, mean, m2, in, outer, len, inner, true); }

FLOE_AXIS_ORDERED(bool)
FLOE_AXIS_NUMERIC(i8, i64)
FLOE_AXIS_NUMERIC(i16, i64)
FLOE_AXIS_NUMERIC(i32, i64)
FLOE_AXIS_NUMERIC(i64, i64)
FLOE_AXIS_NUMERIC(u8, u64)
FLOE_AXIS_NUMERIC(u16, u64)
FLOE_AXIS_NUMERIC(u32, u64)
FLOE_AXIS_NUMERIC(u64, u64)
FLOE_AXIS_NUMERIC(f32, f32)
FLOE_AXIS_NUMERIC(f64, f64)
