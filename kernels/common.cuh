// floe: element types and per-element operations with floe's semantics
// (the same as src/exec/cpu/scalar_ops.rs and the CPU interpreter):
// integers wrap, integer division truncates and x / 0 == 0, MIN / -1 wraps,
// integer pow is wrapping with the exponent taken as u32, min/max propagate
// NaN, round is half to even, float -> int casts saturate (NaN -> 0).
// Prepended to every generated program and to every file in kernels/.
// Compiled with --fmad=false so a * b + c rounds like the CPU.

typedef signed char i8;
typedef short i16;
typedef int i32;
typedef long long i64;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef float f32;
typedef double f64;

// ---- integers: wrapping arithmetic in an unsigned type of at least the width
#define FLOE_INT_COMMON(T, W)                                                              \
    __device__ __forceinline__ T op_add(T a, T b) { return (T)((W)a + (W)b); }             \
    __device__ __forceinline__ T op_sub(T a, T b) { return (T)((W)a - (W)b); }             \
    __device__ __forceinline__ T op_mul(T a, T b) { return (T)((W)a * (W)b); }             \
    __device__ __forceinline__ T op_neg(T a) { return (T)((W)0 - (W)a); }                  \
    __device__ __forceinline__ T op_max(T a, T b) { return a > b ? a : b; }                \
    __device__ __forceinline__ T op_min(T a, T b) { return a < b ? a : b; }                \
    __device__ __forceinline__ bool op_isnan(T) { return false; }                          \
    __device__ __forceinline__ bool op_isfinite(T) { return true; }                        \
    __device__ __forceinline__ T op_pow(T a, T b) {                                        \
        u32 e = (u32)b;                                                                    \
        T base = a, acc = (T)1;                                                            \
        while (e > 0) {                                                                    \
            if (e & 1u) acc = op_mul(acc, base);                                           \
            e >>= 1;                                                                       \
            if (e > 0) base = op_mul(base, base);                                          \
        }                                                                                  \
        return acc;                                                                        \
    }

#define FLOE_SIGNED(T, W)                                                                  \
    FLOE_INT_COMMON(T, W)                                                                  \
    __device__ __forceinline__ T op_div(T a, T b) {                                        \
        if (b == 0) return (T)0;                                                           \
        if (b == (T)-1) return op_neg(a);                                                  \
        return (T)(a / b);                                                                 \
    }                                                                                      \
    __device__ __forceinline__ T op_abs(T a) { return a < 0 ? op_neg(a) : a; }

#define FLOE_UNSIGNED(T, W)                                                                \
    FLOE_INT_COMMON(T, W)                                                                  \
    __device__ __forceinline__ T op_div(T a, T b) { return b == 0 ? (T)0 : (T)(a / b); }   \
    __device__ __forceinline__ T op_abs(T a) { return a; }

FLOE_SIGNED(i8, u32)
FLOE_SIGNED(i16, u32)
FLOE_SIGNED(i32, u32)
FLOE_SIGNED(i64, u64)
FLOE_UNSIGNED(u8, u32)
FLOE_UNSIGNED(u16, u32)
FLOE_UNSIGNED(u32, u32)
FLOE_UNSIGNED(u64, u64)

// ---- floats
#define FLOE_FLOAT(T, SUF)                                                                 \
    __device__ __forceinline__ T op_add(T a, T b) { return a + b; }                        \
    __device__ __forceinline__ T op_sub(T a, T b) { return a - b; }                        \
    __device__ __forceinline__ T op_mul(T a, T b) { return a * b; }                        \
    __device__ __forceinline__ T op_div(T a, T b) { return a / b; }                        \
    __device__ __forceinline__ T op_neg(T a) { return -a; }                                \
    __device__ __forceinline__ T op_abs(T a) { return fabs##SUF(a); }                      \
    __device__ __forceinline__ T op_pow(T a, T b) { return pow##SUF(a, b); }               \
    __device__ __forceinline__ bool op_isnan(T a) { return isnan(a); }                     \
    __device__ __forceinline__ bool op_isfinite(T a) { return isfinite(a); }               \
    __device__ __forceinline__ T op_max(T a, T b) {                                        \
        if (isnan(a) || a > b) return a;                                                   \
        if (isnan(b) || b > a) return b;                                                   \
        return a;                                                                          \
    }                                                                                      \
    __device__ __forceinline__ T op_min(T a, T b) {                                        \
        if (isnan(a) || a < b) return a;                                                   \
        if (isnan(b) || b < a) return b;                                                   \
        return a;                                                                          \
    }                                                                                      \
    __device__ __forceinline__ T op_sqrt(T a) { return sqrt##SUF(a); }                     \
    __device__ __forceinline__ T op_exp(T a) { return exp##SUF(a); }                       \
    __device__ __forceinline__ T op_ln(T a) { return log##SUF(a); }                        \
    __device__ __forceinline__ T op_log10(T a) { return log10##SUF(a); }                   \
    __device__ __forceinline__ T op_sin(T a) { return sin##SUF(a); }                       \
    __device__ __forceinline__ T op_cos(T a) { return cos##SUF(a); }                       \
    __device__ __forceinline__ T op_tan(T a) { return tan##SUF(a); }                       \
    __device__ __forceinline__ T op_tanh(T a) { return tanh##SUF(a); }                     \
    __device__ __forceinline__ T op_floor(T a) { return floor##SUF(a); }                   \
    __device__ __forceinline__ T op_ceil(T a) { return ceil##SUF(a); }                     \
    /* half to even: rint in the default rounding mode */                                  \
    __device__ __forceinline__ T op_round(T a) { return rint##SUF(a); }                    \
    /* powi as compiler-rt's __powi*f2: square-and-multiply, 1/r for n < 0 */              \
    __device__ __forceinline__ T op_powi(T a, int n) {                                     \
        bool recip = n < 0;                                                                \
        T r = (T)1;                                                                        \
        while (1) {                                                                        \
            if (n & 1) r *= a;                                                             \
            n /= 2;                                                                        \
            if (n == 0) break;                                                             \
            a *= a;                                                                        \
        }                                                                                  \
        return recip ? (T)1 / r : r;                                                       \
    }

FLOE_FLOAT(f32, f)
FLOE_FLOAT(f64, )

// ---- bool: and / or / xor as the CPU interpreter
__device__ __forceinline__ bool op_add(bool a, bool b) { return a | b; }
__device__ __forceinline__ bool op_max(bool a, bool b) { return a | b; }
__device__ __forceinline__ bool op_mul(bool a, bool b) { return a & b; }
__device__ __forceinline__ bool op_min(bool a, bool b) { return a & b; }
__device__ __forceinline__ bool op_sub(bool a, bool b) { return a ^ b; }
__device__ __forceinline__ bool op_isnan(bool) { return false; }
__device__ __forceinline__ bool op_isfinite(bool) { return true; }

// ---- casts (as Rust `as` through floe's Prim: bool -> 0/1, ints wrap,
// float -> int saturates with NaN -> 0, anything -> bool is != 0)
template <typename To> struct Cvt;
#define FLOE_CVT_INT(T, LO, HI)                                                            \
    template <> struct Cvt<T> {                                                            \
        __device__ static __forceinline__ T from_i(i64 v) { return (T)(u64)v; }            \
        __device__ static __forceinline__ T from_u(u64 v) { return (T)v; }                 \
        __device__ static __forceinline__ T from_f(f64 v) {                                \
            if (v != v) return (T)0;                                                       \
            if (v <= (f64)(LO)) return (T)(LO);                                            \
            if (v >= (f64)(HI)) return (T)(HI);                                            \
            return (T)v;                                                                   \
        }                                                                                  \
    };
FLOE_CVT_INT(i8, -128, 127)
FLOE_CVT_INT(i16, -32768, 32767)
FLOE_CVT_INT(i32, (-2147483647 - 1), 2147483647)
FLOE_CVT_INT(i64, (-9223372036854775807LL - 1), 9223372036854775807LL)
FLOE_CVT_INT(u8, 0, 255)
FLOE_CVT_INT(u16, 0, 65535)
FLOE_CVT_INT(u32, 0, 4294967295u)
FLOE_CVT_INT(u64, 0, 18446744073709551615ull)
template <> struct Cvt<f32> {
    __device__ static __forceinline__ f32 from_i(i64 v) { return (f32)v; }
    __device__ static __forceinline__ f32 from_u(u64 v) { return (f32)v; }
    __device__ static __forceinline__ f32 from_f(f64 v) { return (f32)v; }
};
template <> struct Cvt<f64> {
    __device__ static __forceinline__ f64 from_i(i64 v) { return (f64)v; }
    __device__ static __forceinline__ f64 from_u(u64 v) { return (f64)v; }
    __device__ static __forceinline__ f64 from_f(f64 v) { return v; }
};
template <> struct Cvt<bool> {
    __device__ static __forceinline__ bool from_i(i64 v) { return v != 0; }
    __device__ static __forceinline__ bool from_u(u64 v) { return v != 0; }
    __device__ static __forceinline__ bool from_f(f64 v) { return v != 0.0; }
};
template <typename To> __device__ __forceinline__ To cvt(bool v) { return Cvt<To>::from_u(v ? 1ull : 0ull); }
template <typename To> __device__ __forceinline__ To cvt(i8 v) { return Cvt<To>::from_i((i64)v); }
template <typename To> __device__ __forceinline__ To cvt(i16 v) { return Cvt<To>::from_i((i64)v); }
template <typename To> __device__ __forceinline__ To cvt(i32 v) { return Cvt<To>::from_i((i64)v); }
template <typename To> __device__ __forceinline__ To cvt(i64 v) { return Cvt<To>::from_i(v); }
template <typename To> __device__ __forceinline__ To cvt(u8 v) { return Cvt<To>::from_u((u64)v); }
template <typename To> __device__ __forceinline__ To cvt(u16 v) { return Cvt<To>::from_u((u64)v); }
template <typename To> __device__ __forceinline__ To cvt(u32 v) { return Cvt<To>::from_u((u64)v); }
template <typename To> __device__ __forceinline__ To cvt(u64 v) { return Cvt<To>::from_u(v); }
template <typename To> __device__ __forceinline__ To cvt(f32 v) { return Cvt<To>::from_f((f64)v); }
template <typename To> __device__ __forceinline__ To cvt(f64 v) { return Cvt<To>::from_f(v); }

// ---- limits (identities of min/max)
template <typename T> struct Lim;
#define FLOE_LIM(T, LO, HI) \
    template <> struct Lim<T> { __device__ static __forceinline__ T lowest() { return LO; } __device__ static __forceinline__ T highest() { return HI; } };
FLOE_LIM(bool, false, true)
FLOE_LIM(i8, (i8)-128, (i8)127)
FLOE_LIM(i16, (i16)-32768, (i16)32767)
FLOE_LIM(i32, (-2147483647 - 1), 2147483647)
FLOE_LIM(i64, (-9223372036854775807LL - 1), 9223372036854775807LL)
FLOE_LIM(u8, (u8)0, (u8)255)
FLOE_LIM(u16, (u16)0, (u16)65535)
FLOE_LIM(u32, 0u, 4294967295u)
FLOE_LIM(u64, 0ull, 18446744073709551615ull)
FLOE_LIM(f32, -__int_as_float(0x7f800000), __int_as_float(0x7f800000))
FLOE_LIM(f64, -__longlong_as_double(0x7ff0000000000000LL), __longlong_as_double(0x7ff0000000000000LL))

// ---- a strided read: element `i` (row-major over `shape`) of an input with
// element strides `st` (0 along broadcast axes)
__device__ __forceinline__ i64 floe_offset(i64 i, const i64* shape, const i64* st, int ndim) {
    i64 off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
        i64 s = shape[d];
        i64 k = i % s;
        i /= s;
        off += k * st[d];
    }
    return off;
}

// ---- vector copies: V elements of T between global memory and registers,
// in the widest aligned pieces (16, 8, 4, 2 or 1 bytes). `p` must be
// aligned to V·sizeof(T) (up to 16); the local array to 16.
template <int B> struct FloeWord;
template <> struct FloeWord<16> { typedef uint4 T; };
template <> struct FloeWord<8> { typedef uint2 T; };
template <> struct FloeWord<4> { typedef unsigned int T; };
template <> struct FloeWord<2> { typedef unsigned short T; };
template <> struct FloeWord<1> { typedef unsigned char T; };
template <int B> struct FloeWidest { static const int W = B % 16 == 0 ? 16 : B % 8 == 0 ? 8 : B % 4 == 0 ? 4 : B % 2 == 0 ? 2 : 1; };
template <typename T, int V> __device__ __forceinline__ void floe_vload(T (&d)[V], const T* __restrict__ p) {
    const int W = FloeWidest<V * (int)sizeof(T)>::W;
    typedef typename FloeWord<W>::T Word;
#pragma unroll
    for (int k = 0; k < V * (int)sizeof(T) / W; ++k) reinterpret_cast<Word*>(d)[k] = reinterpret_cast<const Word*>(p)[k];
}
template <typename T, int V> __device__ __forceinline__ void floe_vstore(T* __restrict__ p, const T (&d)[V]) {
    const int W = FloeWidest<V * (int)sizeof(T)>::W;
    typedef typename FloeWord<W>::T Word;
#pragma unroll
    for (int k = 0; k < V * (int)sizeof(T) / W; ++k) reinterpret_cast<Word*>(p)[k] = reinterpret_cast<const Word*>(d)[k];
}
