// Argument validation: every rule raises fa3jit::Error of the right kind
// with a message naming the argument, and valid inputs (varlen, 4-D, paged,
// GQA, empty sequences, empty batch) give the AttnParams the kernels expect.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "device/cuda_driver.h"
#include "fa3jit/error.h"
#include "testing/host_tensor.h"
#include "testing/problem.h"
#include "validate/plan.h"

namespace fa3jit::detail {
namespace {

using fa3jit::testing::HostTensor;

// Owns the host buffers behind a VarlenArgs (stable addresses).
struct ArgBuffers {
  std::vector<std::unique_ptr<HostTensor>> store;
  VarlenArgs a;

  Tensor add(DType t, std::vector<int64_t> shape) {
    store.push_back(std::make_unique<HostTensor>(t, std::move(shape)));
    return store.back()->view();
  }
  Tensor ints(const std::vector<int32_t>& v) {
    store.push_back(std::make_unique<HostTensor>(HostTensor::from_ints(v)));
    return store.back()->view();
  }
  Tensor ints2d(int64_t rows, int64_t cols, const std::vector<int32_t>& v) {
    Tensor t = add(DType::i32, {rows, cols});
    std::memcpy(t.data, v.data(), v.size() * 4);
    return t;
  }
};

std::vector<int32_t> offsets(const std::vector<int>& lens) {
  std::vector<int32_t> cu{0};
  for (int l : lens) cu.push_back(cu.back() + l);
  return cu;
}

struct Dims {
  int h = 4, h_k = 2, d = 64, dv = 64;
  DType dtype = DType::bf16;
};

// Packed q / k / v with cu_seqlens_q / cu_seqlens_k.
void make_varlen(ArgBuffers& s, const std::vector<int>& lq, const std::vector<int>& lk, Dims m = {}) {
  const auto cq = offsets(lq), ck = offsets(lk);
  s.a.q = s.add(m.dtype, {cq.back(), m.h, m.d});
  s.a.k = s.add(m.dtype, {ck.back(), m.h_k, m.d});
  s.a.v = s.add(m.dtype, {ck.back(), m.h_k, m.dv});
  s.a.cu_seqlens_q = s.ints(cq);
  s.a.cu_seqlens_k = s.ints(ck);
}

// Fixed-length (b, s, h, d) q / k / v.
void make_4d(ArgBuffers& s, int b, int sq, int sk, Dims m = {}) {
  s.a.q = s.add(m.dtype, {b, sq, m.h, m.d});
  s.a.k = s.add(m.dtype, {b, sk, m.h_k, m.d});
  s.a.v = s.add(m.dtype, {b, sk, m.h_k, m.dv});
}

// Varlen q, paged k / v with key lengths from seqused_k; sequence b's
// pages are scattered (counted down from the top of the pool).
void make_paged(ArgBuffers& s, const std::vector<int>& lq, const std::vector<int>& lk, int page_size,
                int max_pages, int num_pages, Dims m = {}) {
  const auto cq = offsets(lq);
  s.a.q = s.add(m.dtype, {cq.back(), m.h, m.d});
  s.a.cu_seqlens_q = s.ints(cq);
  s.a.k = s.add(m.dtype, {num_pages, page_size, m.h_k, m.d});
  s.a.v = s.add(m.dtype, {num_pages, page_size, m.h_k, m.dv});
  s.a.seqused_k = s.ints(std::vector<int32_t>(lk.begin(), lk.end()));
  std::vector<int32_t> table;
  int next = num_pages - 1;
  for (size_t b = 0; b < lk.size(); ++b)
    for (int j = 0; j < max_pages; ++j) {
      const bool used = int64_t(j) * page_size < lk[b];
      table.push_back(used ? next-- : 0);
    }
  s.a.page_table = s.ints2d(int64_t(lk.size()), max_pages, table);
}

Plan ok(const VarlenArgs& a) {
  try {
    return validate_varlen_args(a, nullptr);
  } catch (const Error& e) {
    ADD_FAILURE() << "unexpected fa3jit::Error: " << e.what();
    return Plan{};
  }
}

// The call throws fa3jit::Error of `kind` whose message contains every part.
template <class F>
void expect_error_of(F&& call, ErrorKind kind, std::initializer_list<const char*> parts) {
  try {
    call();
    ADD_FAILURE() << "no fa3jit::Error thrown";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(int(e.kind()), int(kind)) << msg;
    for (const char* part : parts)
      EXPECT_NE(msg.find(part), std::string::npos) << "message \"" << msg << "\" lacks \"" << part << "\"";
  }
}

void expect_error(const VarlenArgs& a, ErrorKind kind, std::initializer_list<const char*> parts) {
  expect_error_of([&] { validate_varlen_args(a, nullptr); }, kind, parts);
}

constexpr ErrorKind kValue = ErrorKind::InvalidValue;
constexpr ErrorKind kType = ErrorKind::InvalidType;
constexpr ErrorKind kUnsupported = ErrorKind::NotSupported;
const Device kCuda0{DeviceType::CUDA, 0};

// Moves every given tensor of `a` to `device` (the views only: validation
// never reads GPU memory unless check_metadata).
void on_device(VarlenArgs& a, Device device) {
  for (Tensor* t : {&a.q, &a.k, &a.v, &a.cu_seqlens_q, &a.cu_seqlens_k, &a.seqused_q, &a.seqused_k,
                    &a.page_table, &a.qv, &a.q_descale, &a.k_descale, &a.v_descale, &a.sinks, &a.out,
                    &a.softmax_lse, &a.workspace})
    if (t->defined()) t->device = device;
}

// ---------------------------------------------------------------- valid input

TEST(ValidateValid, VarlenFillsParams) {
  ArgBuffers s;
  make_varlen(s, {3, 0, 5}, {4, 2, 0});
  const Plan plan = ok(s.a);
  const auto& p = plan.params;
  EXPECT_EQ(p.batch, 3);
  EXPECT_EQ(p.h, 4);
  EXPECT_EQ(p.h_k, 2);
  EXPECT_EQ(p.d, 64);
  EXPECT_EQ(p.dv, 64);
  EXPECT_EQ(p.total_q, 8);
  EXPECT_EQ(p.max_seqlen_q, 5);  // defaults: the longest sequence
  EXPECT_EQ(p.max_seqlen_k, 4);
  EXPECT_EQ(p.in_dtype, int(DType::bf16));
  EXPECT_EQ(p.out_dtype, int(DType::bf16));
  EXPECT_EQ(p.q, s.a.q.data);
  EXPECT_EQ(p.q_batch_stride, 0);
  EXPECT_EQ(p.q_row_stride, 4 * 64);
  EXPECT_EQ(p.q_head_stride, 64);
  EXPECT_EQ(p.k_batch_stride, 0);
  EXPECT_EQ(p.k_row_stride, 2 * 64);
  EXPECT_EQ(p.v_head_stride, 64);
  EXPECT_EQ(p.cu_seqlens_q, s.a.cu_seqlens_q.data);
  EXPECT_EQ(p.cu_seqlens_k, s.a.cu_seqlens_k.data);
  EXPECT_EQ(p.page_table, nullptr);
  EXPECT_EQ(p.qv, nullptr);
  EXPECT_EQ(p.out, nullptr);  // bound later
  EXPECT_EQ(p.lse, nullptr);
  EXPECT_FLOAT_EQ(p.softmax_scale, 0.125f);
  EXPECT_EQ(p.is_causal, 0);
  EXPECT_EQ(p.window_left, -1);
  EXPECT_EQ(p.window_right, -1);
  EXPECT_EQ(p.num_splits, 1);
  EXPECT_FALSE(plan.q_is_4d);
  EXPECT_FALSE(plan.paged);
  EXPECT_EQ(plan.pack_gqa_requested, -1);
  EXPECT_EQ(plan.out_ndim, 3);
  EXPECT_EQ(plan.out_shape[0], 8);
  EXPECT_EQ(plan.out_shape[1], 4);
  EXPECT_EQ(plan.out_shape[2], 64);
  EXPECT_EQ(plan.lse_ndim, 2);
  EXPECT_EQ(plan.lse_shape[0], 4);
  EXPECT_EQ(plan.lse_shape[1], 8);
}

TEST(ValidateValid, StridedInputsKeepTheirStrides) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {4, 1});
  // q viewed out of a wider buffer: rows 1024 apart, heads 128 apart.
  Tensor wide = s.add(DType::bf16, {5, 1024});
  s.a.q.data = wide.data;
  s.a.q.stride = {1024, 128, 1, 0};
  const auto& p = ok(s.a).params;
  EXPECT_EQ(p.q_row_stride, 1024);
  EXPECT_EQ(p.q_head_stride, 128);
  EXPECT_EQ(p.q_batch_stride, 0);
}

TEST(ValidateValid, FixedLengthBatch) {
  ArgBuffers s;
  make_4d(s, 2, 3, 5, {.h = 4, .h_k = 4, .d = 32, .dv = 48});
  const Plan plan = ok(s.a);
  const auto& p = plan.params;
  EXPECT_TRUE(plan.q_is_4d);
  EXPECT_EQ(p.batch, 2);
  EXPECT_EQ(p.total_q, 6);
  EXPECT_EQ(p.max_seqlen_q, 3);
  EXPECT_EQ(p.max_seqlen_k, 5);
  EXPECT_EQ(p.cu_seqlens_q, nullptr);
  EXPECT_EQ(p.q_batch_stride, 3 * 4 * 32);
  EXPECT_EQ(p.q_row_stride, 4 * 32);
  EXPECT_EQ(p.v_batch_stride, 5 * 4 * 48);
  EXPECT_EQ(p.v_row_stride, 4 * 48);
  EXPECT_EQ(plan.out_ndim, 4);
  EXPECT_EQ(plan.out_shape[3], 48);
  EXPECT_EQ(plan.lse_ndim, 3);
  EXPECT_EQ(plan.lse_shape[0], 2);
  EXPECT_EQ(plan.lse_shape[1], 4);
  EXPECT_EQ(plan.lse_shape[2], 3);
}

TEST(ValidateValid, FixedLengthMaxSeqlenIsTheShapeNotALargerBound) {
  ArgBuffers s;
  make_4d(s, 2, 3, 5);
  s.a.max_seqlen_q = 100;  // a bound, but seqinfo reads the 4-D length from it
  s.a.max_seqlen_k = 100;
  const auto& p = ok(s.a).params;
  EXPECT_EQ(p.max_seqlen_q, 3);
  EXPECT_EQ(p.max_seqlen_k, 5);
}

TEST(ValidateValid, PackedQWithFixedLengthKeys) {
  ArgBuffers s;
  s.a.q = s.add(DType::f16, {7, 4, 64});
  s.a.cu_seqlens_q = s.ints({0, 3, 7});
  s.a.k = s.add(DType::f16, {2, 9, 2, 64});
  s.a.v = s.add(DType::f16, {2, 9, 2, 64});
  const auto& p = ok(s.a).params;
  EXPECT_EQ(p.max_seqlen_q, 4);
  EXPECT_EQ(p.max_seqlen_k, 9);
  EXPECT_EQ(p.cu_seqlens_k, nullptr);
  EXPECT_EQ(p.k_batch_stride, 9 * 2 * 64);
}

TEST(ValidateValid, PagedAnyPageSize) {
  for (int page_size : {1, 3, 16}) {
    SCOPED_TRACE(page_size);
    ArgBuffers s;
    const std::vector<int> lk{5, 0, 16};
    const int max_pages = (16 + page_size - 1) / page_size;
    make_paged(s, {1, 2, 1}, lk, page_size, max_pages, 3 * max_pages + 2);
    const Plan plan = ok(s.a);
    const auto& p = plan.params;
    EXPECT_TRUE(plan.paged);
    EXPECT_EQ(p.page_size, page_size);
    EXPECT_EQ(p.num_pages, 3 * max_pages + 2);
    EXPECT_EQ(p.max_pages_per_seq, max_pages);
    EXPECT_EQ(p.page_table, s.a.page_table.data);
    EXPECT_EQ(p.page_table_stride, max_pages);
    EXPECT_EQ(p.k_batch_stride, int64_t(page_size) * 2 * 64);  // the page stride
    EXPECT_EQ(p.k_row_stride, 2 * 64);
    EXPECT_EQ(p.seqused_k, s.a.seqused_k.data);
    EXPECT_EQ(p.max_seqlen_k, 16);
  }
}

TEST(ValidateValid, PagedWithoutLengthsUsesThePageCapacity) {
  ArgBuffers s;
  make_paged(s, {2, 2}, {12, 12}, 4, 3, 6);
  s.a.seqused_k = Tensor{};
  EXPECT_EQ(ok(s.a).params.max_seqlen_k, 12);
  s.a.max_seqlen_k = 10;  // the length of every sequence: pages 0..2 used
  EXPECT_EQ(ok(s.a).params.max_seqlen_k, 10);
}

TEST(ValidateValid, PagedWithCuSeqlensK) {
  ArgBuffers s;
  make_paged(s, {1, 1}, {7, 3}, 4, 2, 4);
  s.a.seqused_k = Tensor{};
  s.a.cu_seqlens_k = s.ints({0, 7, 10});  // lengths only; places come from the table
  EXPECT_EQ(ok(s.a).params.max_seqlen_k, 7);
}

TEST(ValidateValid, UnusedPageTableEntriesAreNotChecked) {
  ArgBuffers s;
  make_paged(s, {1}, {5}, 4, 4, 2);  // 5 keys use 2 of 4 pages
  static_cast<int32_t*>(s.a.page_table.data)[2] = -7;
  static_cast<int32_t*>(s.a.page_table.data)[3] = 99;
  ok(s.a);
}

TEST(ValidateValid, GqaAndMqa) {
  for (int h_k : {1, 2, 8}) {
    ArgBuffers s;
    make_varlen(s, {3}, {3}, {.h = 8, .h_k = h_k});
    EXPECT_EQ(ok(s.a).params.h_k, h_k);
  }
}

TEST(ValidateValid, ZeroLengthSequencesAndNoKeys) {
  ArgBuffers s;
  make_varlen(s, {0, 4, 0}, {0, 0, 0});
  const auto& p = ok(s.a).params;
  EXPECT_EQ(p.max_seqlen_q, 4);
  EXPECT_EQ(p.max_seqlen_k, 0);
}

TEST(ValidateValid, EmptyBatch) {
  ArgBuffers s;
  make_varlen(s, {}, {});
  const Plan plan = ok(s.a);
  EXPECT_EQ(plan.params.batch, 0);
  EXPECT_EQ(plan.params.total_q, 0);
  EXPECT_EQ(plan.params.max_seqlen_q, 0);
  EXPECT_EQ(plan.out_shape[0], 0);

  ArgBuffers f;
  make_4d(f, 0, 5, 5);
  EXPECT_EQ(ok(f.a).params.batch, 0);
}

TEST(ValidateValid, WindowNormalization) {
  ArgBuffers s;
  make_varlen(s, {4}, {6});
  s.a.causal = true;
  s.a.window_size = {5, 7};  // causal forces right = 0; left stays (causal sliding window)
  auto p = ok(s.a).params;
  EXPECT_EQ(p.is_causal, 1);
  EXPECT_EQ(p.window_left, 5);
  EXPECT_EQ(p.window_right, 0);

  s.a.causal = false;
  s.a.window_size = {-1, 0};  // the same mask as causal
  p = ok(s.a).params;
  EXPECT_EQ(p.is_causal, 1);
  EXPECT_EQ(p.window_right, 0);

  s.a.window_size = {3, 2};
  p = ok(s.a).params;
  EXPECT_EQ(p.is_causal, 0);
  EXPECT_EQ(p.window_left, 3);
  EXPECT_EQ(p.window_right, 2);
}

TEST(ValidateValid, ScalarsAndScheduling) {
  ArgBuffers s;
  make_varlen(s, {4}, {6}, {.d = 64, .dv = 128});
  s.a.softcap = 30.f;
  s.a.attention_chunk = 8;
  s.a.num_splits = 0;
  s.a.pack_gqa = true;
  s.a.sm_margin = 4;
  s.a.path = KernelPath::Cpu;
  s.a.softmax_scale = 0.5f;
  const Plan plan = ok(s.a);
  EXPECT_FLOAT_EQ(plan.params.softcap, 30.f);
  EXPECT_EQ(plan.params.attention_chunk, 8);
  EXPECT_EQ(plan.num_splits_requested, 0);
  EXPECT_EQ(plan.params.num_splits, 1);  // auto: dispatch resolves it
  EXPECT_EQ(plan.pack_gqa_requested, 1);
  EXPECT_EQ(plan.sm_margin, 4);
  EXPECT_EQ(plan.path, KernelPath::Cpu);
  EXPECT_FLOAT_EQ(plan.params.softmax_scale, 0.5f);
}

TEST(ValidateValid, QvDefaultScaleCountsBothTerms) {
  // Upstream FA3 (sglang's drop-in): with qv the score is q.k + qv.v, scale 1/sqrt(d + dv).
  ArgBuffers s;
  make_varlen(s, {3}, {5}, {.h = 4, .h_k = 1, .d = 64, .dv = 512});
  s.a.qv = s.add(DType::bf16, {3, 4, 512});
  EXPECT_FLOAT_EQ(ok(s.a).params.softmax_scale, 1.f / std::sqrt(576.f));
}

TEST(ValidateValid, OnlyQvScaleUsesDv) {
  ArgBuffers s;
  make_varlen(s, {3}, {5}, {.h = 4, .h_k = 1, .d = 64, .dv = 512});
  s.a.qv = s.add(DType::bf16, {3, 4, 512});
  s.a.only_qv = true;
  const auto& p = ok(s.a).params;
  EXPECT_FLOAT_EQ(p.softmax_scale, 1.f / std::sqrt(512.f));
  EXPECT_EQ(p.only_qv, 1);
  EXPECT_EQ(p.qv, s.a.qv.data);
  EXPECT_EQ(p.qv_row_stride, 4 * 512);
}

TEST(ValidateValid, Fp8OutputsBf16AndTakesBroadcastDescales) {
  ArgBuffers s;
  make_varlen(s, {3, 2}, {5, 5}, {.dtype = DType::fp8_e4m3});
  Tensor scale = s.add(DType::f32, {1});
  Tensor expanded = scale;  // expand(b, h_k): strides 0
  expanded.ndim = 2;
  expanded.shape = {2, 2, 0, 0};
  expanded.stride = {0, 0, 0, 0};
  s.a.q_descale = expanded;
  s.a.k_descale = s.add(DType::f32, {2, 2});
  s.a.out = s.add(DType::bf16, {5, 4, 64});
  const Plan plan = ok(s.a);
  EXPECT_EQ(plan.out_dtype, DType::bf16);
  EXPECT_EQ(plan.params.out_dtype, int(DType::bf16));
  EXPECT_EQ(plan.params.q_descale_b_stride, 0);
  EXPECT_EQ(plan.params.k_descale_b_stride, 2);
  EXPECT_EQ(plan.params.k_descale_h_stride, 1);
  EXPECT_EQ(plan.params.v_descale, nullptr);
}

TEST(ValidateValid, Float32OnTheCpu) {
  ArgBuffers s;
  make_varlen(s, {2}, {2}, {.dtype = DType::f32});
  s.a.sinks = s.add(DType::bf16, {4});
  const Plan plan = ok(s.a);
  EXPECT_EQ(plan.out_dtype, DType::f32);
  EXPECT_EQ(plan.params.sinks_dtype, int(DType::bf16));
}

TEST(ValidateValid, BindOutAndLse) {
  ArgBuffers s;
  make_varlen(s, {3, 2}, {5, 5});
  s.a.return_softmax_lse = true;
  Plan plan = ok(s.a);
  Tensor out = s.add(DType::bf16, {5, 4, 64});
  bind_out(plan, out);
  EXPECT_EQ(plan.params.out, out.data);
  EXPECT_EQ(plan.params.o_batch_stride, 0);
  EXPECT_EQ(plan.params.o_row_stride, 256);
  EXPECT_EQ(plan.params.o_head_stride, 64);
  Tensor lse = s.add(DType::f32, {4, 5});
  bind_lse(plan, lse);
  EXPECT_EQ(plan.params.lse, lse.data);
  EXPECT_EQ(plan.params.lse_batch_stride, 0);
  EXPECT_EQ(plan.params.lse_head_stride, 5);  // (h, total_q)
  EXPECT_EQ(plan.params.lse_row_stride, 1);
  expect_error_of([&] { bind_out(plan, s.add(DType::bf16, {5, 4, 32})); }, kValue, {"out", "(total_q, h, dv)"});
  expect_error_of([&] { bind_lse(plan, s.add(DType::f32, {5, 4})); }, kValue, {"softmax_lse"});

  ArgBuffers f;
  make_4d(f, 2, 3, 4);
  Plan fixed = ok(f.a);
  bind_out(fixed, f.add(DType::bf16, {2, 3, 4, 64}));
  EXPECT_EQ(fixed.params.o_batch_stride, 3 * 4 * 64);
  bind_lse(fixed, f.add(DType::f32, {2, 4, 3}));
  EXPECT_EQ(fixed.params.lse_batch_stride, 12);  // (b, h, s_q)
  EXPECT_EQ(fixed.params.lse_head_stride, 3);
  EXPECT_EQ(fixed.params.lse_row_stride, 1);
}

TEST(ValidateValid, NothingIsWritten) {
  ArgBuffers s;
  make_paged(s, {3, 2}, {5, 7}, 4, 2, 6);
  s.a.return_softmax_lse = true;
  s.a.out = s.add(DType::bf16, {5, 4, 64});
  s.a.softmax_lse = s.add(DType::f32, {4, 5});
  for (auto& t : s.store) t->fill_bytes(0xA5);
  // Metadata poisoned too would be invalid: restore it.
  ArgBuffers fresh;
  make_paged(fresh, {3, 2}, {5, 7}, 4, 2, 6);
  std::memcpy(s.a.cu_seqlens_q.data, fresh.a.cu_seqlens_q.data, 3 * 4);
  std::memcpy(s.a.seqused_k.data, fresh.a.seqused_k.data, 2 * 4);
  std::memcpy(s.a.page_table.data, fresh.a.page_table.data, 4 * 4);
  std::vector<std::vector<uint8_t>> before;
  for (auto& t : s.store) {
    const auto* b = static_cast<const uint8_t*>(t->data());
    before.emplace_back(b, b + t->nbytes());
  }
  ok(s.a);
  for (size_t i = 0; i < s.store.size(); ++i)
    EXPECT_EQ(std::memcmp(before[i].data(), s.store[i]->data(), before[i].size()), 0) << "buffer " << i;
}

TEST(ValidateValid, GpuMetadataUncheckedNeedsNoDriver) {
  ArgBuffers s;
  make_varlen(s, {3, 2}, {5, 5});
  on_device(s.a, kCuda0);
  s.a.check_metadata = false;
  s.a.max_seqlen_q = 64;
  s.a.max_seqlen_k = 128;
  const Plan plan = ok(s.a);
  EXPECT_EQ(plan.device, kCuda0);
  EXPECT_EQ(plan.params.max_seqlen_q, 64);
  EXPECT_EQ(plan.params.max_seqlen_k, 128);
  EXPECT_EQ(plan.params.cu_seqlens_q, s.a.cu_seqlens_q.data);

  ArgBuffers paged;
  make_paged(paged, {1, 1}, {5, 7}, 4, 3, 6);
  on_device(paged.a, kCuda0);
  paged.a.check_metadata = false;
  paged.a.max_seqlen_q = 1;
  EXPECT_EQ(ok(paged.a).params.max_seqlen_k, 12);  // the page capacity bounds every length
}

TEST(ValidateValid, GpuFixedLengthNeedsNoMetadata) {
  ArgBuffers s;
  make_4d(s, 2, 3, 5);
  on_device(s.a, kCuda0);  // check_metadata on, but there is nothing to read
  const auto& p = ok(s.a).params;
  EXPECT_EQ(p.max_seqlen_q, 3);
  EXPECT_EQ(p.max_seqlen_k, 5);
}

TEST(ValidateValid, DefaultMaxSeqlenCountsRealRowsOnly) {
  ArgBuffers s;
  make_varlen(s, {2, 5}, {6, 3});
  s.a.seqused_q = s.ints({2, 1});
  s.a.seqused_k = s.ints({1, 3});
  const auto& p = ok(s.a).params;
  EXPECT_EQ(p.max_seqlen_q, 2);
  EXPECT_EQ(p.max_seqlen_k, 3);
  EXPECT_EQ(p.seqused_q, s.a.seqused_q.data);
}

TEST(ValidateValid, MadeProblemsValidate) {
  // The shared test problems (scattered pages, seqused, qv, descale, sinks)
  // are valid input.
  for (int variant = 0; variant < 6; ++variant) {
    SCOPED_TRACE(variant);
    fa3jit::testing::ProblemConfig cfg;
    cfg.seed = uint64_t(variant + 1);
    cfg.seqused_q = variant % 2 == 1;
    cfg.seqused_k = variant % 3 == 1;
    cfg.page_size = variant == 2 ? 3 : variant == 3 ? 16 : 0;
    cfg.varlen = variant != 4;
    cfg.qv = variant == 5;
    cfg.sinks = variant == 1;
    cfg.causal = variant == 3;
    const auto problem = fa3jit::testing::make_problem(cfg);
    const Plan plan = ok(problem.args());
    EXPECT_EQ(plan.params.batch, cfg.batch);
    EXPECT_EQ(plan.paged, cfg.page_size > 0);
  }
}

// ------------------------------------------------------ presence and devices

TEST(ValidateTensors, RequiresQKV) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.k = Tensor{};
  expect_error(s.a, kValue, {"k is required"});
}

TEST(ValidateTensors, SameDevice) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.v.device = kCuda0;
  expect_error(s.a, kValue, {"v is on cuda:0", "q is on cpu"});
  s.a.v.device = {};
  s.a.cu_seqlens_k.device = {DeviceType::CUDA, 1};
  expect_error(s.a, kValue, {"cu_seqlens_k is on cuda:1"});
}

TEST(ValidateTensors, NullDataPointer) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.v.data = nullptr;
  expect_error(s.a, kValue, {"v has", "null data pointer"});
  // Empty tensors may have none.
  ArgBuffers e;
  make_varlen(e, {0}, {0});
  e.a.q.data = nullptr;
  ok(e.a);
}

TEST(ValidateTensors, LastDimStrideOne) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  Tensor wide = s.add(DType::bf16, {2, 4, 128});
  s.a.q.data = wide.data;
  s.a.q.stride = {512, 128, 2, 0};
  expect_error(s.a, kValue, {"q must have stride 1 in its last dim"});
}

TEST(ValidateTensors, SizesFitInt32) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.q.shape[0] = int64_t(1) << 32;  // never read: rejected before any access
  expect_error(s.a, kValue, {"q.shape[0]", "32-bit"});
}

// ---------------------------------------------------------------- dtypes

TEST(ValidateDtypes, QMustBeAnAttentionType) {
  ArgBuffers s;
  make_varlen(s, {2}, {2}, {.dtype = DType::i32});
  expect_error(s.a, kType, {"q must be float16, bfloat16 or float8_e4m3"});
}

TEST(ValidateDtypes, Float32OnGpuIsNotSupported) {
  ArgBuffers s;
  make_varlen(s, {2}, {2}, {.dtype = DType::f32});
  on_device(s.a, kCuda0);
  s.a.check_metadata = false;
  s.a.max_seqlen_q = s.a.max_seqlen_k = 2;
  expect_error(s.a, kUnsupported, {"q is float32 on cuda:0"});
}

TEST(ValidateDtypes, KAndVMatchQ) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.k.dtype = DType::f16;
  expect_error(s.a, kType, {"k must be bfloat16", "got float16"});
  s.a.k.dtype = DType::bf16;
  s.a.v.dtype = DType::fp8_e4m3;
  expect_error(s.a, kType, {"v must be bfloat16"});
}

// ---------------------------------------------------------------- ranks and shapes

TEST(ValidateShapes, QRankFollowsCuSeqlensQ) {
  ArgBuffers s;
  make_4d(s, 2, 3, 3);
  s.a.cu_seqlens_q = s.ints({0, 3, 6});
  expect_error(s.a, kValue, {"q must be 3-D", "cu_seqlens_q is given"});
  ArgBuffers t;
  make_varlen(t, {2}, {2});
  t.a.cu_seqlens_q = Tensor{};
  expect_error(t.a, kValue, {"q must be 4-D", "cu_seqlens_q is none"});
}

TEST(ValidateShapes, PagedKvIsFourD) {
  ArgBuffers s;
  make_paged(s, {1}, {4}, 4, 1, 2);
  s.a.k = s.add(DType::bf16, {8, 2, 64});
  expect_error(s.a, kValue, {"k must be 4-D", "page_table is given"});
}

TEST(ValidateShapes, PageSizeAtLeastOne) {
  ArgBuffers s;
  make_paged(s, {1}, {0}, 1, 1, 2);
  s.a.k = s.add(DType::bf16, {2, 0, 2, 64});
  s.a.v = s.add(DType::bf16, {2, 0, 2, 64});
  expect_error(s.a, kValue, {"page_size", ">= 1"});
}

TEST(ValidateShapes, PagedKAndVAgree) {
  ArgBuffers s;
  make_paged(s, {1}, {4}, 4, 1, 2);
  s.a.v = s.add(DType::bf16, {3, 4, 2, 64});
  expect_error(s.a, kValue, {"v.shape[0] = 3", "pages"});
  s.a.v = s.add(DType::bf16, {2, 2, 2, 64});
  expect_error(s.a, kValue, {"v.shape[1] = 2", "page_size"});
}

TEST(ValidateShapes, PackedKIsThreeD) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.k = s.add(DType::bf16, {1, 2, 2, 64});
  expect_error(s.a, kValue, {"k must be 3-D", "cu_seqlens_k is given"});
}

TEST(ValidateShapes, FixedLengthKMatchesBatch) {
  ArgBuffers s;
  make_4d(s, 2, 3, 3);
  s.a.k = s.add(DType::bf16, {3, 3, 2, 64});
  expect_error(s.a, kValue, {"k.shape[0] = 3", "b = 2"});
}

TEST(ValidateShapes, KAndVAgreeOnTokensAndHeads) {
  ArgBuffers s;
  make_varlen(s, {2}, {4});
  s.a.v = s.add(DType::bf16, {3, 2, 64});
  expect_error(s.a, kValue, {"v.shape[0] = 3", "total_k"});
  s.a.v = s.add(DType::bf16, {4, 1, 64});
  expect_error(s.a, kValue, {"v.shape[1] = 1", "h_k"});
}

TEST(ValidateShapes, HeadsAreAMultipleOfKvHeads) {
  ArgBuffers s;
  make_varlen(s, {2}, {2}, {.h = 6, .h_k = 4});
  expect_error(s.a, kValue, {"h = 6", "multiple of", "h_k = 4"});
}

TEST(ValidateShapes, QAndKShareHeadDim) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.k = s.add(DType::bf16, {2, 2, 32});
  expect_error(s.a, kValue, {"k.shape[2] = 32", "q's head dim d"});
}

TEST(ValidateShapes, HeadDims) {
  for (int d : {4, 12, 264, 512}) {
    ArgBuffers s;
    make_varlen(s, {2}, {2}, {.d = d, .dv = 64});
    expect_error(s.a, kUnsupported, {"head dim d", "multiple of 8 in [8, 256]"});
  }
  for (int dv : {0, 100, 320}) {
    ArgBuffers s;
    make_varlen(s, {2}, {2}, {.d = 64, .dv = dv});
    expect_error(s.a, kUnsupported, {"head dim dv", "or 512"});
  }
  for (int dv : {8, 256, 512}) {
    ArgBuffers s;
    make_varlen(s, {2}, {2}, {.d = 64, .dv = dv});
    EXPECT_EQ(ok(s.a).params.dv, dv);
  }
}

// ---------------------------------------------------------------- metadata tensors

TEST(ValidateMetadataTensors, CuSeqlensIsInt32OneDContiguous) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  s.a.cu_seqlens_q.dtype = DType::f32;
  expect_error(s.a, kType, {"cu_seqlens_q must be int32"});
  s.a.cu_seqlens_q.dtype = DType::i32;
  s.a.cu_seqlens_k = s.ints2d(1, 3, {0, 2, 5});
  expect_error(s.a, kValue, {"cu_seqlens_k must be 1-D"});
  Tensor strided = s.ints({0, 9, 2, 9, 5, 9});
  strided.shape[0] = 3;
  strided.stride[0] = 2;
  s.a.cu_seqlens_k = strided;
  expect_error(s.a, kValue, {"cu_seqlens_k must", "stride 1"});
}

TEST(ValidateMetadataTensors, CuSeqlensSizesAgree) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  s.a.cu_seqlens_k = s.ints({0, 5});
  expect_error(s.a, kValue, {"cu_seqlens_k.shape[0] = 2", "b + 1", "cu_seqlens_q"});
  s.a.cu_seqlens_q = s.ints({});
  expect_error(s.a, kValue, {"cu_seqlens_q must have b + 1 >= 1"});
}

TEST(ValidateMetadataTensors, Seqused) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  s.a.seqused_q = s.add(DType::f32, {2});
  expect_error(s.a, kType, {"seqused_q must be int32"});
  s.a.seqused_q = s.ints({1, 1, 1});
  expect_error(s.a, kValue, {"seqused_q.shape[0] = 3", "b = 2"});
  s.a.seqused_q = Tensor{};
  s.a.seqused_k = s.ints2d(2, 1, {1, 1});
  expect_error(s.a, kValue, {"seqused_k must be 1-D"});
}

TEST(ValidateMetadataTensors, PageTable) {
  ArgBuffers s;
  make_paged(s, {1, 1}, {4, 4}, 4, 1, 4);
  s.a.page_table.dtype = DType::f32;
  expect_error(s.a, kType, {"page_table must be int32"});
  s.a.page_table = s.ints({0, 1});
  expect_error(s.a, kValue, {"page_table must be 2-D"});
  s.a.page_table = s.ints2d(3, 1, {0, 1, 2});
  expect_error(s.a, kValue, {"page_table.shape[0] = 3", "b = 2"});
  Tensor t = s.ints2d(2, 4, {0, 9, 1, 9, 2, 9, 3, 9});
  t.shape = {2, 2, 0, 0};
  t.stride = {4, 2, 0, 0};
  s.a.page_table = t;
  expect_error(s.a, kValue, {"page_table must have stride 1 in its last dim"});
}

TEST(ValidateMetadataTensors, PageTableRowsMayBeStrided) {
  ArgBuffers s;
  make_paged(s, {1, 1}, {4, 4}, 4, 1, 4);
  Tensor t = s.ints2d(2, 3, {3, -1, -1, 2, -1, -1});  // rows 3 apart, one used column
  t.shape = {2, 1, 0, 0};
  t.stride = {3, 1, 0, 0};
  s.a.page_table = t;
  EXPECT_EQ(ok(s.a).params.page_table_stride, 3);
  static_cast<int32_t*>(t.data)[3] = 4;  // row 1's page is out of the pool
  expect_error(s.a, kValue, {"page_table[1][0] = 4"});
}

// ---------------------------------------------------------------- optional inputs

TEST(ValidateOptional, DescaleOnlyForFp8) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.k_descale = s.add(DType::f32, {1, 2});
  expect_error(s.a, kValue, {"k_descale is only allowed with float8_e4m3 inputs"});
}

TEST(ValidateOptional, DescaleDtypeAndShape) {
  ArgBuffers s;
  make_varlen(s, {2, 1}, {2, 1}, {.dtype = DType::fp8_e4m3});
  s.a.q_descale = s.add(DType::bf16, {2, 2});
  expect_error(s.a, kType, {"q_descale must be float32"});
  s.a.q_descale = s.add(DType::f32, {2, 4});  // (b, h) instead of (b, h_k)
  expect_error(s.a, kValue, {"q_descale.shape[1] = 4", "h_k"});
  s.a.q_descale = Tensor{};
  s.a.v_descale = s.add(DType::f32, {2});
  expect_error(s.a, kValue, {"v_descale must be 2-D"});
}

TEST(ValidateOptional, Sinks) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.sinks = s.add(DType::f16, {4});
  expect_error(s.a, kType, {"sinks must be float32 or bfloat16"});
  s.a.sinks = s.add(DType::f32, {2});
  expect_error(s.a, kValue, {"sinks.shape[0] = 2", "h"});
}

TEST(ValidateOptional, Qv) {
  ArgBuffers s;
  make_varlen(s, {2}, {2}, {.dv = 128});
  s.a.qv = s.add(DType::f16, {2, 4, 128});
  expect_error(s.a, kType, {"qv must be bfloat16"});
  s.a.qv = s.add(DType::bf16, {2, 4, 64});
  expect_error(s.a, kValue, {"qv.shape[2] = 64", "dv"});
  s.a.qv = s.add(DType::bf16, {1, 2, 4, 128});
  expect_error(s.a, kValue, {"qv must be 3-D"});
  ArgBuffers f;
  make_4d(f, 2, 3, 3);
  f.a.qv = f.add(DType::bf16, {2, 4, 4, 64});
  expect_error(f.a, kValue, {"qv.shape[1] = 4", "s_q"});
}

TEST(ValidateOptional, OnlyQvRequiresQv) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.only_qv = true;
  expect_error(s.a, kValue, {"only_qv", "requires qv"});
}

// ---------------------------------------------------------------- outputs

TEST(ValidateOutputs, OutDtype) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.out = s.add(DType::f16, {2, 4, 64});
  expect_error(s.a, kType, {"out must be bfloat16"});
  ArgBuffers e;
  make_varlen(e, {2}, {2}, {.dtype = DType::fp8_e4m3});
  e.a.out = e.add(DType::fp8_e4m3, {2, 4, 64});
  expect_error(e.a, kType, {"out must be bfloat16", "float8_e4m3 inputs"});
}

TEST(ValidateOutputs, OutShape) {
  ArgBuffers s;
  make_varlen(s, {2}, {2}, {.dv = 128});
  s.a.out = s.add(DType::bf16, {2, 4, 64});
  expect_error(s.a, kValue, {"out must have shape (total_q, h, dv) = (2, 4, 128)"});
  ArgBuffers f;
  make_4d(f, 2, 3, 3);
  f.a.out = f.add(DType::bf16, {6, 4, 64});
  expect_error(f.a, kValue, {"out must have shape (b, s_q, h, dv) = (2, 3, 4, 64)"});
}

TEST(ValidateOutputs, OutMustNotOverlapItself) {
  ArgBuffers s;
  make_varlen(s, {3}, {2});
  s.a.out = s.add(DType::bf16, {3, 4, 64});
  s.a.out.stride = {0, 64, 1, 0};  // every row on the same memory
  expect_error(s.a, kValue, {"out must not overlap itself"});
}

TEST(ValidateOutputs, SoftmaxLse) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  s.a.return_softmax_lse = true;
  s.a.softmax_lse = s.add(DType::bf16, {4, 5});
  expect_error(s.a, kType, {"softmax_lse must be float32"});
  s.a.softmax_lse = s.add(DType::f32, {5, 4});
  expect_error(s.a, kValue, {"softmax_lse must have shape (h, total_q) for varlen q = (4, 5)"});
  Tensor wide = s.add(DType::f32, {4, 10});
  wide.shape = {4, 5, 0, 0};
  wide.stride = {10, 1, 0, 0};
  s.a.softmax_lse = wide;
  expect_error(s.a, kValue, {"softmax_lse must be contiguous"});
  s.a.softmax_lse = s.add(DType::f32, {4, 5});
  ok(s.a);
  s.a.return_softmax_lse = false;
  expect_error(s.a, kValue, {"softmax_lse is given but return_softmax_lse is false"});
  ArgBuffers f;
  make_4d(f, 2, 3, 3);
  f.a.return_softmax_lse = true;
  f.a.softmax_lse = f.add(DType::f32, {4, 6});
  expect_error(f.a, kValue, {"softmax_lse must have shape (b, h, s_q) for 4-D q = (2, 4, 3)"});
}

TEST(ValidateOutputs, Workspace) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  s.a.workspace = s.add(DType::f32, {64});
  const Plan plan = ok(s.a);
  EXPECT_TRUE(plan.has_workspace);
  EXPECT_EQ(plan.workspace, s.a.workspace.data);
  EXPECT_EQ(plan.workspace_bytes, 256);
  s.a.workspace = s.add(DType::i32, {250});  // any dtype: bytes count
  EXPECT_EQ(ok(s.a).workspace_bytes, 1000);
  Tensor strided = s.add(DType::f32, {8, 8});
  strided.shape = {8, 4, 0, 0};
  s.a.workspace = strided;
  expect_error(s.a, kValue, {"workspace must be contiguous"});
  Tensor shifted = s.add(DType::f32, {65});
  shifted.shape = {64, 0, 0, 0};
  shifted.data = static_cast<float*>(shifted.data) + 1;  // 4 bytes past an aligned allocation
  s.a.workspace = shifted;
  expect_error(s.a, kValue, {"workspace must be 16-byte aligned"});
  s.a.workspace = s.add(DType::f32, {64});
  s.a.workspace.device = kCuda0;
  expect_error(s.a, kValue, {"workspace is on cuda:0", "q is on cpu"});
}

// The CPU backend keeps its own scratch: a workspace changes nothing, and
// a CPU call needs none.
TEST(ValidateOutputs, WorkspaceOnTheCpuIsUnused) {
  ArgBuffers s;
  make_varlen(s, {5, 9}, {7, 300});
  std::mt19937_64 rng(7);
  for (auto& t : s.store)
    if (t->dtype() == DType::bf16) t->fill_normal(rng);  // q, k, v (not the offsets)
  s.a.num_splits = 3;
  EXPECT_EQ(split_workspace_bytes(s.a), 0);
  s.a.out = s.add(DType::bf16, {14, 4, 64});
  flash_attn_varlen(s.a);
  const std::vector<char> plain(static_cast<char*>(s.a.out.data), static_cast<char*>(s.a.out.data) + 14 * 4 * 64 * 2);
  s.a.workspace = s.add(DType::f32, {0});  // given, empty: never touched here
  EXPECT_EQ(split_workspace_bytes(s.a), 0);
  s.a.out = s.add(DType::bf16, {14, 4, 64});
  flash_attn_varlen(s.a);
  EXPECT_EQ(std::memcmp(plain.data(), s.a.out.data, plain.size()), 0);
}

// ---------------------------------------------------------------- scalars

TEST(ValidateScalars, WindowBelowMinusOne) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.window_size = {3, -2};
  expect_error(s.a, kValue, {"window_size[1] = -2", "exclude every key"});
}

TEST(ValidateScalars, AttentionChunk) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.attention_chunk = -4;
  expect_error(s.a, kValue, {"attention_chunk = -4", ">= 0"});
}

TEST(ValidateScalars, Softcap) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.softcap = -1.f;
  expect_error(s.a, kValue, {"softcap", "finite and >= 0"});
  s.a.softcap = std::numeric_limits<float>::infinity();
  expect_error(s.a, kValue, {"softcap", "finite"});
}

TEST(ValidateScalars, SoftmaxScaleFinite) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.softmax_scale = std::nanf("");
  expect_error(s.a, kValue, {"softmax_scale", "finite"});
}

TEST(ValidateScalars, NumSplitsSmMarginMaxSeqlen) {
  ArgBuffers s;
  make_varlen(s, {2}, {2});
  s.a.num_splits = -1;
  expect_error(s.a, kValue, {"num_splits = -1"});
  s.a.num_splits = 1;
  s.a.sm_margin = -2;
  expect_error(s.a, kValue, {"sm_margin = -2"});
  s.a.sm_margin = 0;
  s.a.max_seqlen_q = -1;
  expect_error(s.a, kValue, {"max_seqlen_q = -1", ">= 0"});
  s.a.max_seqlen_q = std::nullopt;
  s.a.max_seqlen_k = int64_t(1) << 31;
  expect_error(s.a, kValue, {"max_seqlen_k", "32-bit"});
}

// ---------------------------------------------------------------- metadata values

TEST(ValidateMetadataValues, CuSeqlensStartAtZero) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  s.a.cu_seqlens_q = s.ints({1, 2, 5});
  expect_error(s.a, kValue, {"cu_seqlens_q[0] must be 0: got 1"});
}

TEST(ValidateMetadataValues, CuSeqlensNonDecreasing) {
  ArgBuffers s;
  make_varlen(s, {2, 3, 4, 1}, {1, 1, 1, 1});
  s.a.q = s.add(DType::bf16, {12, 4, 64});
  s.a.cu_seqlens_q = s.ints({0, 2, 12, 10, 12});
  expect_error(s.a, kValue,
               {"cu_seqlens_q must be non-decreasing: cu_seqlens_q[3] = 10 < cu_seqlens_q[2] = 12"});
}

TEST(ValidateMetadataValues, CuSeqlensWithinPackedRows) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  s.a.cu_seqlens_q = s.ints({0, 2, 6});
  expect_error(s.a, kValue, {"cu_seqlens_q[2] = 6 must be <= q.shape[0] (total_q) = 5"});
  s.a.cu_seqlens_q = s.ints({0, 2, 5});
  s.a.cu_seqlens_k = s.ints({0, 4, 7});
  expect_error(s.a, kValue, {"cu_seqlens_k[2] = 7 must be <= k.shape[0] (total_k) = 5"});
}

TEST(ValidateMetadataValues, PagedCuSeqlensKFitsThePages) {
  ArgBuffers s;
  make_paged(s, {1, 1}, {4, 4}, 4, 2, 6);
  s.a.seqused_k = Tensor{};
  s.a.cu_seqlens_k = s.ints({0, 9, 12});  // 9 keys > 2 pages of 4
  expect_error(s.a, kValue, {"cu_seqlens_k gives sequence 0 9 keys", "page_table.shape[1] * page_size = 8"});
}

TEST(ValidateMetadataValues, SequsedWithinTheSequence) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  s.a.seqused_q = s.ints({2, 4});
  expect_error(s.a, kValue, {"seqused_q[1] = 4 must be in [0, 3]", "cu_seqlens_q"});
  s.a.seqused_q = s.ints({-1, 0});
  expect_error(s.a, kValue, {"seqused_q[0] = -1"});
  s.a.seqused_q = Tensor{};
  s.a.seqused_k = s.ints({3, 0});
  expect_error(s.a, kValue, {"seqused_k[0] = 3 must be in [0, 2]", "cu_seqlens_k"});
  ArgBuffers f;
  make_4d(f, 2, 3, 5);
  f.a.seqused_k = f.ints({5, 6});
  expect_error(f.a, kValue, {"seqused_k[1] = 6 must be in [0, 5]", "k.shape[1]"});
}

TEST(ValidateMetadataValues, PagedSequsedWithinThePages) {
  ArgBuffers s;
  make_paged(s, {1}, {8}, 4, 2, 4);
  s.a.seqused_k = s.ints({9});
  expect_error(s.a, kValue, {"seqused_k[0] = 9 must be in [0, 8]", "page_table.shape[1] * page_size"});
}

TEST(ValidateMetadataValues, LengthsWithinMaxSeqlen) {
  ArgBuffers s;
  make_varlen(s, {2, 5}, {7, 3});
  s.a.max_seqlen_q = 4;
  expect_error(s.a, kValue, {"sequence 1 has 5 queries, more than max_seqlen_q = 4"});
  s.a.max_seqlen_q = 5;
  s.a.max_seqlen_k = 6;
  expect_error(s.a, kValue, {"sequence 0 has 7 keys, more than max_seqlen_k = 6"});
  s.a.max_seqlen_k = 9;  // a looser bound is kept as given
  EXPECT_EQ(ok(s.a).params.max_seqlen_k, 9);
  // seqused lowers the real lengths below the bound.
  s.a.max_seqlen_q = 2;
  s.a.seqused_q = s.ints({2, 2});
  ok(s.a);
}

TEST(ValidateMetadataValues, FixedLengthsWithinMaxSeqlen) {
  ArgBuffers s;
  make_4d(s, 2, 6, 5);
  s.a.max_seqlen_q = 4;
  expect_error(s.a, kValue, {"max_seqlen_q = 4", "s_q = q.shape[1] = 6"});
  s.a.max_seqlen_q = std::nullopt;
  s.a.max_seqlen_k = 3;
  expect_error(s.a, kValue, {"max_seqlen_k = 3", "s_k = k.shape[1] = 5"});
}

TEST(ValidateMetadataValues, PagedFixedLengthWithinThePages) {
  ArgBuffers s;
  make_paged(s, {1}, {8}, 4, 2, 4);
  s.a.seqused_k = Tensor{};
  s.a.max_seqlen_k = 9;
  expect_error(s.a, kValue, {"max_seqlen_k = 9 must be <= page_table.shape[1] * page_size = 8"});
}

TEST(ValidateMetadataValues, PageIdsInThePool) {
  ArgBuffers s;
  make_paged(s, {1, 1}, {5, 3}, 4, 2, 5);
  static_cast<int32_t*>(s.a.page_table.data)[1] = 5;  // sequence 0's second page
  expect_error(s.a, kValue, {"page_table[0][1] = 5 must be in [0, 5)", "sequence 0 uses its first 2 pages"});
  static_cast<int32_t*>(s.a.page_table.data)[1] = 0;
  static_cast<int32_t*>(s.a.page_table.data)[2] = -1;
  expect_error(s.a, kValue, {"page_table[1][0] = -1"});
}

TEST(ValidateMetadataValues, UnreadableMetadataNeedsMaxSeqlen) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  on_device(s.a, kCuda0);
  s.a.check_metadata = false;
  expect_error(s.a, kValue, {"max_seqlen_q is required", "check_metadata is false"});
  s.a.max_seqlen_q = 3;
  expect_error(s.a, kValue, {"max_seqlen_k is required", "check_metadata is false"});
}

TEST(ValidateMetadataValues, MusaMetadataCannotBeChecked) {
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  on_device(s.a, {DeviceType::MUSA, 0});
  expect_error(s.a, kUnsupported, {"check_metadata on musa:0"});
  s.a.check_metadata = false;
  s.a.max_seqlen_q = 3;
  s.a.max_seqlen_k = 3;
  ok(s.a);  // dispatch, not validation, decides whether MUSA can run it
}

TEST(ValidateMetadataValues, GpuMetadataWithoutDriverIsARuntimeError) {
  if (cuda::driver()) GTEST_SKIP() << "a CUDA driver is present: this checks the no-driver path";
  ArgBuffers s;
  make_varlen(s, {2, 3}, {2, 3});
  on_device(s.a, kCuda0);
  expect_error(s.a, ErrorKind::Runtime, {"CUDA is not available"});
}

}  // namespace
}  // namespace fa3jit::detail
