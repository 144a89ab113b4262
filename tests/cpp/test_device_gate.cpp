// The capability gate on simulated devices (runs on every machine), and
// device discovery on this machine.
#include <gtest/gtest.h>

#include <string>

#include "device/cuda_driver.h"
#include "device/musa_runtime.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"

namespace fa3jit {
namespace {

DeviceInfo cuda_device(const char* name, int major, int minor, int runtime) {
  DeviceInfo d;
  d.backend = Backend::CUDA;
  d.name = name;
  d.major = major;
  d.minor = minor;
  d.runtime_version = runtime;
  d.sm_count = 100;
  d.smem_per_block = 227 * 1024;
  return d;
}

DeviceInfo musa_device(const char* name, int major, int minor) {
  DeviceInfo d;
  d.backend = Backend::MUSA;
  d.name = name;
  d.major = major;
  d.minor = minor;
  d.runtime_version = version_number(4, 0);
  return d;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct GateCase {
  const char* label;
  DeviceInfo device;
  bool supported;
  const char* reason;  // a part of explain_support's answer
};

void PrintTo(const GateCase& c, std::ostream* os) { *os << c.label; }

class DeviceGate : public ::testing::TestWithParam<GateCase> {};

TEST_P(DeviceGate, DecidesAndExplains) {
  const GateCase& c = GetParam();
  EXPECT_EQ(is_fa3_supported(c.device), c.supported) << c.label;
  const std::string why = explain_support(c.device);
  EXPECT_TRUE(contains(why, c.reason)) << c.label << ": \"" << why << "\" lacks \"" << c.reason << "\"";
  EXPECT_TRUE(contains(why, c.supported ? ": supported" : ": not supported")) << why;
}

const int k12_2 = version_number(12, 2);
const int k12_3 = version_number(12, 3);

INSTANTIATE_TEST_SUITE_P(
    Table, DeviceGate,
    ::testing::Values(
        GateCase{"cuda_12_2_sm90", cuda_device("NVIDIA H100", 9, 0, k12_2), false,
                 "CUDA runtime 12.2 is below 12.3"},
        GateCase{"cuda_12_3_sm80", cuda_device("NVIDIA A100", 8, 0, k12_3), true, "A100 (sm_80): supported, portable path"},
        GateCase{"cuda_12_3_sm86", cuda_device("NVIDIA A10", 8, 6, k12_3), true, "(sm_86): supported, portable path"},
        GateCase{"cuda_12_3_sm89", cuda_device("NVIDIA L4", 8, 9, k12_3), true, "(sm_89): supported, portable path"},
        GateCase{"cuda_12_3_sm90", cuda_device("NVIDIA H100", 9, 0, k12_3), true,
                 "NVIDIA H100 (sm_90): supported, Hopper fast path"},
        GateCase{"cuda_12_3_sm100", cuda_device("NVIDIA B200", 10, 0, k12_3), true, "(sm_100): supported, portable path"},
        GateCase{"cuda_12_3_sm75", cuda_device("Tesla T4", 7, 5, k12_3), false, "sm_75 is below sm_80"},
        GateCase{"cuda_12_2_sm75_both", cuda_device("Tesla T4", 7, 5, k12_2), false,
                 "sm_75 is below sm_80; CUDA runtime 12.2 is below 12.3"},
        // 12.10 > 12.3 as numbers, though "12.10" < "12.3" as strings.
        GateCase{"cuda_12_10_sm90", cuda_device("NVIDIA H100", 9, 0, version_number(12, 10)), true, "Hopper fast path"},
        GateCase{"cuda_13_0_sm90", cuda_device("NVIDIA H100", 9, 0, version_number(13, 0)), true, "Hopper fast path"},
        GateCase{"musa_3_1", musa_device("MTT S5000", 3, 1), true, "MTT S5000 (MUSA 3.1): supported"},
        GateCase{"musa_2_2", musa_device("MTT S4000", 2, 2), false, "MUSA capability 2.2 is below 3.0"},
        GateCase{"musa_2_1", musa_device("MTT S80", 2, 1), false, "MUSA capability 2.1 is below 3.0"},
        GateCase{"cpu", DeviceInfo{.backend = Backend::CPU, .name = "Test CPU", .sm_count = 2}, true,
                 "Test CPU (CPU, 2 threads): supported, CPU backend"}),
    [](const ::testing::TestParamInfo<GateCase>& info) { return std::string(info.param.label); });

TEST(DeviceGateVersion, NumbersNotStrings) {
  EXPECT_GT(version_number(12, 10), version_number(12, 3));
  EXPECT_EQ(version_number(12, 3), 12030);  // CUDA's own encoding of 12.3
  EXPECT_EQ(version_string(12030), "12.3");
  EXPECT_EQ(version_string(12100), "12.10");
  EXPECT_EQ(version_string(13000), "13.0");
}

TEST(DeviceQuery, CpuFirstAndCached) {
  const std::vector<DeviceInfo>& devices = query_devices();
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(devices.front().backend, Backend::CPU);
  EXPECT_FALSE(devices.front().name.empty());
  EXPECT_GE(devices.front().sm_count, 1);
  EXPECT_TRUE(is_fa3_supported(devices.front()));
  EXPECT_EQ(&query_devices(), &devices);  // read once
  EXPECT_EQ(&device_info(Device{DeviceType::CPU, 0}), &devices.front());
}

TEST(DeviceQuery, NoCudaDeviceOnThisMachine) {
  int gpus = 0;
  for (const DeviceInfo& d : query_devices()) gpus += d.backend == Backend::CUDA;
  if (cuda::driver() != nullptr && gpus > 0) GTEST_SKIP() << "a CUDA GPU is present (" << gpus << ")";
  EXPECT_EQ(gpus, 0);
  EXPECT_EQ(best_device().backend, Backend::CPU);
}

TEST(DeviceQuery, ListedInOrderCpuCudaMusa) {
  const std::vector<DeviceInfo>& devices = query_devices();
  for (size_t i = 1; i < devices.size(); ++i)
    EXPECT_LE(int(devices[i - 1].backend), int(devices[i].backend)) << "device " << i;
}

TEST(DeviceQuery, BestDeviceIsSupported) { EXPECT_TRUE(is_fa3_supported(best_device())); }

TEST(DeviceQuery, AbsentDeviceNamesItself) {
  try {
    device_info(Device{DeviceType::CUDA, 99});
    FAIL() << "cuda:99 should not be present";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidValue);
    EXPECT_TRUE(contains(e.what(), "cuda:99 is not present")) << e.what();
  }
  if (!musa::runtime().available) {
    EXPECT_THROW(device_info(Device{DeviceType::MUSA, 0}), Error);
  }
}

}  // namespace
}  // namespace fa3jit
