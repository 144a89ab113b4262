// fa3jit: variable-length attention forward. Include this one header.
#pragma once
#include "fa3jit/args.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"
#include "fa3jit/kvcache.h"
#include "fa3jit/tensor.h"
#include "fa3jit/version.h"
