/*
 * dampl_blas: the Node-API addon over the native kernels. It checks each call's JavaScript
 * arguments (Float32Arrays long enough for the sizes given) and calls the C kernels on the arrays'
 * own memory. Its functions (x, y, dy, ...: Float32Arrays; rows x cols row-major):
 *
 *   load(path)                       dlopen a BLAS library that exports cblas_sgemm
 *   info()                           { library, config, threads, corename, kernels, kernelPaths }
 *   setKernels(name)                 run the row kernels' code path `name` (one of kernelPaths)
 *   fmaPeak(seconds, threads)        fp32 FLOP/s of multiply-add chains on the path's vectors (peak.c)
 *   sgemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB)
 *       for i < batch: C_i[m,n] = op(A_i) op(B_i), row-major, with A_i = a[i*strideA ...] and
 *       B_i = b[i*strideB ...] (a stride of 0 broadcasts one matrix over the batch), C_i = c[i*m*n ...];
 *       op(A) is A[m,k] or, with transA, A stored as [k,m] and transposed (likewise B: [k,n] or [n,k]).
 *   layerNorm(x, w, b, y, rows, cols, eps)                y = (x - mean) / sqrt(var + eps) * w + b
 *   layerNormGrad(x, dy, w, base, dx, rows, cols, eps)    dx = base + d/dx given dy (base may be null)
 *   quickGelu(x, y, n)                                    y = x * sigmoid(1.702 x)
 *   quickGeluGrad(x, dy, dx, n)                           dx = dy * (s + 1.702 x s (1 - s))
 *   dense(x, w, b, r, y, m, n, k)                         y[m,n] = r[m,n] + x[m,k] w[k,n] + b[n] (b, r may be null)
 *   attention(qkv, o, groups, lp, branches, ls, branchMajor, heads, d, causal, scale)
 *       multi-head self-attention (attention.c); plain batches of n sequences of l rows: n, 0, 1, l
 *   attentionGrad(qkv, do, dqkv, groups, lp, branches, ls, branchMajor, heads, d, causal, scale)
 *       dqkv [rows, 3W] = d/dq | d/dk | d/dv given do [rows, W]
 *   patches(x, y, n, c, r, p)                             x [n, c, r, r] -> y [n * (r/p)^2, c*p*p]
 *   conv2d(x, w, b, r, y, n, h, wd, c, kh, kw, stride, pad, oc, relu)
 *       y [n, oh, ow, oc] = r + b + x [n, h, wd, c] (NHWC) convolved with w [kh, kw, c, oc], then
 *       max(0, y) where relu (b and the residual r may be null)
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "dampl_native.h"

#define CHECK(call)                                                           \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      napi_throw_error(env, NULL, "dampl_blas: Node-API call failed: " #call); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static const char *const NO_BLAS = "dampl_blas: no BLAS library loaded (call load(path) first)";

static napi_value load_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[1024], err[1200];
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    return throw_msg(env, "dampl_blas.load(path): path must be a string");
  }
  const char *bad = blas_load(path, err, sizeof err);
  return bad ? throw_msg(env, bad) : NULL;
}

static napi_value info_js(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_string_utf8(env, kernel_path(), NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "kernels", v));
  CHECK(napi_create_string_utf8(env, kernel_paths(), NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "kernelPaths", v));
  if (!sgemm) return out;
  CHECK(napi_create_string_utf8(env, blas_corename(), NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "corename", v));
  CHECK(napi_create_string_utf8(env, blas_path(), NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "library", v));
  CHECK(napi_create_string_utf8(env, blas_config(), NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "config", v));
  CHECK(napi_create_int32(env, blas_threads(), &v));
  CHECK(napi_set_named_property(env, out, "threads", v));
  return out;
}

static napi_value set_kernels_js(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value argv[1];
  char name[32];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) return throw_msg(env, "setKernels(name): name must be a string");
  if (!set_kernel_path(name)) {
    char msg[160];
    snprintf(msg, sizeof msg, "setKernels: no code path '%s' here (this build and CPU run: %s)", name, kernel_paths());
    return throw_msg(env, msg);
  }
  return NULL;
}

static napi_value fma_peak_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], v;
  double seconds;
  int32_t threads;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_double(env, argv[0], &seconds) != napi_ok || napi_get_value_int32(env, argv[1], &threads) != napi_ok || seconds <= 0 || threads < 1) {
    return throw_msg(env, "fmaPeak(seconds, threads): seconds > 0, threads >= 1");
  }
  CHECK(napi_create_double(env, fma_peak(seconds, threads), &v));
  return v;
}

static int float_array(napi_env env, napi_value v, float **data, size_t *length) {
  napi_typedarray_type type;
  void *ptr;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, NULL, NULL) != napi_ok || type != napi_float32_array) return 0;
  *data = (float *)ptr;
  return 1;
}

/* a Float32Array of at least `need` values, or null where allowed */
static int get_floats(napi_env env, napi_value v, int64_t need, int nullable, const float **out) {
  napi_valuetype t;
  if (nullable && napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
    *out = NULL;
    return 1;
  }
  float *d;
  size_t len;
  if (!float_array(env, v, &d, &len) || (int64_t)len < need) return 0;
  *out = d;
  return 1;
}

static int get_int(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok && *out >= 0;
}

#define ARGS(n)                                                   \
  size_t argc = n;                                                \
  napi_value argv[n];                                             \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));    \
  if (argc < n) return throw_msg(env, "dampl_blas: too few arguments")

#define FLOATS(i, need, nullable, dst) \
  if (!get_floats(env, argv[i], need, nullable, &dst)) return throw_msg(env, "dampl_blas: argument " #i " must be a Float32Array of at least " #need " values")

static napi_value sgemm_js(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!sgemm) return throw_msg(env, NO_BLAS);
  if (argc < 11) return throw_msg(env, "sgemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB) takes 11 arguments");
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!float_array(env, argv[0], &a, &la) || !float_array(env, argv[1], &b, &lb) || !float_array(env, argv[2], &c, &lc)) {
    return throw_msg(env, "sgemm: a, b and c must be Float32Arrays");
  }
  int64_t dims[4], strides[2];
  bool ta, tb;
  for (int i = 0; i < 4; i++) {
    if (napi_get_value_int64(env, argv[3 + i], &dims[i]) != napi_ok || dims[i] < 0 || dims[i] > INT32_MAX) return throw_msg(env, "sgemm: batch, m, n, k must be non-negative integers");
  }
  if (napi_get_value_bool(env, argv[7], &ta) != napi_ok || napi_get_value_bool(env, argv[8], &tb) != napi_ok) return throw_msg(env, "sgemm: transA, transB must be booleans");
  for (int i = 0; i < 2; i++) {
    if (napi_get_value_int64(env, argv[9 + i], &strides[i]) != napi_ok || strides[i] < 0) return throw_msg(env, "sgemm: strides must be non-negative integers");
  }
  const int64_t batch = dims[0], m = dims[1], n = dims[2], k = dims[3];
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if ((uint64_t)((batch - 1) * strides[0] + m * k) > la || (uint64_t)((batch - 1) * strides[1] + k * n) > lb || (uint64_t)(batch * m * n) > lc) {
    return throw_msg(env, "sgemm: an array is shorter than its shape and stride need");
  }
  gemm_batch(a, b, c, batch, (int)m, (int)n, (int)k, ta, tb, strides[0], strides[1]);
  return NULL;
}

static napi_value layer_norm_js(napi_env env, napi_callback_info info) {
  ARGS(7);
  int64_t rows, cols;
  double eps;
  if (!get_int(env, argv[4], &rows) || !get_int(env, argv[5], &cols) || napi_get_value_double(env, argv[6], &eps) != napi_ok) return throw_msg(env, "layerNorm: bad sizes");
  const float *x, *w, *b, *y;
  FLOATS(0, rows * cols, 0, x);
  FLOATS(1, cols, 0, w);
  FLOATS(2, cols, 0, b);
  FLOATS(3, rows * cols, 0, y);
  layer_norm(x, w, b, (float *)y, rows, cols, (float)eps);
  return NULL;
}

static napi_value layer_norm_grad_js(napi_env env, napi_callback_info info) {
  ARGS(8);
  int64_t rows, cols;
  double eps;
  if (!get_int(env, argv[5], &rows) || !get_int(env, argv[6], &cols) || napi_get_value_double(env, argv[7], &eps) != napi_ok) return throw_msg(env, "layerNormGrad: bad sizes");
  const float *x, *dy, *w, *base, *dx;
  FLOATS(0, rows * cols, 0, x);
  FLOATS(1, rows * cols, 0, dy);
  FLOATS(2, cols, 0, w);
  FLOATS(3, rows * cols, 1, base);
  FLOATS(4, rows * cols, 0, dx);
  layer_norm_grad(x, dy, w, base, (float *)dx, rows, cols, (float)eps);
  return NULL;
}

static napi_value gelu_js(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t n;
  if (!get_int(env, argv[2], &n)) return throw_msg(env, "quickGelu: bad size");
  const float *x, *y;
  FLOATS(0, n, 0, x);
  FLOATS(1, n, 0, y);
  quick_gelu(x, (float *)y, n);
  return NULL;
}

static napi_value gelu_grad_js(napi_env env, napi_callback_info info) {
  ARGS(4);
  int64_t n;
  if (!get_int(env, argv[3], &n)) return throw_msg(env, "quickGeluGrad: bad size");
  const float *x, *dy, *dx;
  FLOATS(0, n, 0, x);
  FLOATS(1, n, 0, dy);
  FLOATS(2, n, 0, dx);
  quick_gelu_grad(x, dy, (float *)dx, n);
  return NULL;
}

static napi_value dense_js(napi_env env, napi_callback_info info) {
  ARGS(8);
  int64_t m, n, k;
  if (!sgemm) return throw_msg(env, NO_BLAS);
  if (!get_int(env, argv[5], &m) || !get_int(env, argv[6], &n) || !get_int(env, argv[7], &k) || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return throw_msg(env, "dense: bad sizes");
  const float *x, *w, *b, *res, *y;
  FLOATS(0, m * k, 0, x);
  FLOATS(1, k * n, 0, w);
  FLOATS(2, n, 1, b);
  FLOATS(3, m * n, 1, res);
  FLOATS(4, m * n, 0, y);
  dense(x, w, b, res, (float *)y, m, n, k);
  return NULL;
}

/* reads groups, lp, branches, ls, branchMajor, heads, d, causal, scale from argv[at..at+9) */
static const char *attn_sizes(napi_env env, napi_value *argv, int at, attn_shape_t *a) {
  bool branch_major, causal;
  double scale;
  if (!get_int(env, argv[at], &a->groups) || !get_int(env, argv[at + 1], &a->lp) || !get_int(env, argv[at + 2], &a->branches) ||
      !get_int(env, argv[at + 3], &a->ls) || napi_get_value_bool(env, argv[at + 4], &branch_major) != napi_ok ||
      !get_int(env, argv[at + 5], &a->heads) || !get_int(env, argv[at + 6], &a->d) ||
      napi_get_value_bool(env, argv[at + 7], &causal) != napi_ok || napi_get_value_double(env, argv[at + 8], &scale) != napi_ok) {
    return "attention: bad sizes";
  }
  if (a->ls < 1 || a->heads < 1 || a->d < 1 || a->lp + a->ls > 65536 || 3 * a->heads * a->d > INT32_MAX) return "attention: bad sizes";
  if (a->lp && !causal) return "attention: a shared prefix needs causal attention";
  a->branch_major = branch_major;
  a->causal = causal;
  a->scale = (float)scale;
  return NULL;
}

/* attention(qkv, o, ...sizes) and, with grad, attentionGrad(qkv, do, dqkv, ...sizes) */
static napi_value attention_call(napi_env env, napi_callback_info info, int grad) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < (size_t)(11 + grad)) return throw_msg(env, "dampl_blas: too few arguments");
  if (!sgemm) return throw_msg(env, NO_BLAS);
  attn_shape_t s = {0};
  const char *bad = attn_sizes(env, argv, 2 + grad, &s);
  if (bad) return throw_msg(env, bad);
  const int64_t W = s.heads * s.d, rows = attention_rows(&s);
  const float *qkv, *dout = NULL, *out;
  FLOATS(0, rows * 3 * W, 0, qkv);
  if (grad) FLOATS(1, rows * W, 0, dout);
  FLOATS(1 + grad, rows * (grad ? 3 : 1) * W, 0, out);
  if (rows == 0) return NULL;
  const int ok = grad ? attention_grad(&s, qkv, dout, (float *)out) : attention(&s, qkv, (float *)out);
  return ok ? NULL : throw_msg(env, "attention: out of memory for the scratch weights");
}

static napi_value attention_js(napi_env env, napi_callback_info info) {
  return attention_call(env, info, 0);
}

static napi_value attention_grad_js(napi_env env, napi_callback_info info) {
  return attention_call(env, info, 1);
}

static napi_value patches_js(napi_env env, napi_callback_info info) {
  ARGS(6);
  int64_t n, c, r, p;
  if (!get_int(env, argv[2], &n) || !get_int(env, argv[3], &c) || !get_int(env, argv[4], &r) || !get_int(env, argv[5], &p) || p < 1 || r % p) {
    return throw_msg(env, "patches: bad sizes (r must be a multiple of p)");
  }
  const float *x, *y;
  FLOATS(0, n * c * r * r, 0, x);
  FLOATS(1, n * c * r * r, 0, y);
  patches(x, (float *)y, n, c, r, p);
  return NULL;
}

static napi_value conv2d_js(napi_env env, napi_callback_info info) {
  ARGS(15);
  int64_t v[9];
  bool with_relu;
  if (!sgemm) return throw_msg(env, NO_BLAS);
  for (int i = 0; i < 9; i++)
    if (!get_int(env, argv[5 + i], &v[i])) return throw_msg(env, "conv2d: bad sizes");
  if (napi_get_value_bool(env, argv[14], &with_relu) != napi_ok) return throw_msg(env, "conv2d: relu must be a boolean");
  const int64_t n = v[0], h = v[1], wd = v[2], c = v[3], kh = v[4], kw = v[5], stride = v[6], pad = v[7], oc = v[8];
  if (kh < 1 || kw < 1 || stride < 1 || h + 2 * pad < kh || wd + 2 * pad < kw || c < 1 || kh * kw * c > INT32_MAX || oc > INT32_MAX) {
    return throw_msg(env, "conv2d: bad sizes (the kernel must fit the padded image)");
  }
  const int64_t oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1;
  const float *x, *w, *b, *res, *y;
  FLOATS(0, n * h * wd * c, 0, x);
  FLOATS(1, kh * kw * c * oc, 0, w);
  FLOATS(2, oc, 1, b);
  FLOATS(3, n * oh * ow * oc, 1, res);
  FLOATS(4, n * oh * ow * oc, 0, y);
  return conv2d(x, w, b, res, (float *)y, n, h, wd, c, kh, kw, stride, pad, oc, with_relu) ? NULL : throw_msg(env, "conv2d: out of memory for the gathered pixels");
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"load", NULL, load_js, NULL, NULL, NULL, napi_default, NULL},
    {"info", NULL, info_js, NULL, NULL, NULL, napi_default, NULL},
    {"setKernels", NULL, set_kernels_js, NULL, NULL, NULL, napi_default, NULL},
    {"fmaPeak", NULL, fma_peak_js, NULL, NULL, NULL, napi_default, NULL},
    {"sgemm", NULL, sgemm_js, NULL, NULL, NULL, napi_default, NULL},
    {"layerNorm", NULL, layer_norm_js, NULL, NULL, NULL, napi_default, NULL},
    {"layerNormGrad", NULL, layer_norm_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"quickGelu", NULL, gelu_js, NULL, NULL, NULL, napi_default, NULL},
    {"quickGeluGrad", NULL, gelu_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"dense", NULL, dense_js, NULL, NULL, NULL, napi_default, NULL},
    {"attention", NULL, attention_js, NULL, NULL, NULL, napi_default, NULL},
    {"attentionGrad", NULL, attention_grad_js, NULL, NULL, NULL, napi_default, NULL},
    {"patches", NULL, patches_js, NULL, NULL, NULL, napi_default, NULL},
    {"conv2d", NULL, conv2d_js, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
