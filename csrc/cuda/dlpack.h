// The DLPack 0.8 structs (ABI-identical to dlpack.h v0.8, "dltensor" capsules) that DeviceArray's
// __dlpack__ and from_dlpack exchange, plus the stream hand-over to a consumer. Host-compiler clean.
#pragma once
#include <cstdint>

extern "C" {

typedef enum {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,
  kDLOneAPI = 14,
  kDLWebGPU = 15,
  kDLHexagon = 16,
} DLDeviceType;

typedef struct {
  DLDeviceType device_type;
  int32_t device_id;
} DLDevice;

typedef enum {
  kDLInt = 0U,
  kDLUInt = 1U,
  kDLFloat = 2U,
  kDLOpaqueHandle = 3U,
  kDLBfloat = 4U,
  kDLComplex = 5U,
  kDLBool = 6U,
} DLDataTypeCode;

typedef struct {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
} DLDataType;

typedef struct {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; NULL means compact row-major
  uint64_t byte_offset;
} DLTensor;

typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;

}  // extern "C"

// Stream ordering across the exchange (runtime.cu). A capsule does not say which stream wrote or will
// use its memory, so where nnx cannot make one stream wait for another it waits for the whole device.
namespace nnx::cuda {
// Makes `consumer_stream` (a cudaStream_t as an integer; 1 = legacy default, 2 = per-thread default)
// wait for everything queued so far on nnx's stream of `device`.
void make_stream_wait_for_nnx(int device, int64_t consumer_stream);
// Waits for every stream of `device`: an imported tensor's producer may still be writing it.
void synchronize_device(int device);
// The same for deleters (any thread, possibly at interpreter exit): errors are ignored, never thrown.
void synchronize_device_quietly(int device) noexcept;
}  // namespace nnx::cuda
