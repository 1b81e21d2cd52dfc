// Runtime ISA detection and the active-level setting (see isa.h).
// Detection uses the compiler's cpuid wrapper; a build without an AVX2 translation
// unit (ARM, or -DLOWDIM_AVX2=OFF) simply never offers that level.
#include "lowdim/isa.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>

namespace lowdim {
namespace {

bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2:
#if defined(LOWDIM_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
      // F16C and POPCNT come with every AVX2 CPU; the AVX2 files are compiled with them.
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c") && __builtin_cpu_supports("popcnt");
#else
      return false;
#endif
    case Isa::avx512:
#if defined(LOWDIM_HAVE_AVX512) && (defined(__x86_64__) || defined(__i386__))
      return cpu_has(Isa::avx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq");
#else
      return false;
#endif
    default: return false;
  }
}

Isa best_isa() {
  auto levels = available_isas();
  Isa best = levels.back();
  if (const char* env = std::getenv("LOWDIM_ISA")) {
    for (Isa isa : levels)
      if (env == std::string(isa_name(isa))) best = isa;  // unknown names are ignored here;
  }                                                       // Python reports them (_config.py)
  return best;
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{static_cast<int>(best_isa())};
  return slot;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    default: return "unknown";
  }
}

// The LOWDIM_HAVE_* definitions exist only in the kernel library, so the answer is given
// here and not in the bindings (which would always see a scalar-only build).
std::vector<Isa> compiled_isas() {
  std::vector<Isa> out{Isa::scalar};
#if defined(LOWDIM_HAVE_AVX2)
  out.push_back(Isa::avx2);
#endif
#if defined(LOWDIM_HAVE_AVX512)
  out.push_back(Isa::avx512);
#endif
  return out;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (int i = 0; i < static_cast<int>(Isa::count); ++i)
    if (cpu_has(static_cast<Isa>(i))) out.push_back(static_cast<Isa>(i));
  return out;
}

Isa active_isa() { return static_cast<Isa>(active_slot().load(std::memory_order_relaxed)); }

bool set_active_isa(const std::string& name) {
  for (Isa isa : available_isas()) {
    if (name == isa_name(isa)) {
      active_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

std::size_t data_cache_bytes(int level) {
  std::size_t best = 0;
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::ifstream lv(dir + "/level"), type(dir + "/type"), size(dir + "/size");
    int at = 0;
    std::string kind, text;
    if (!(lv >> at) || !(type >> kind) || !(size >> text)) continue;
    if (kind == "Instruction" || (level > 0 && at != level)) continue;
    std::size_t value = 0, i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      value = 10 * value + static_cast<std::size_t>(text[i] - '0');
    if (i < text.size() && (text[i] == 'K' || text[i] == 'k')) value <<= 10;
    else if (i < text.size() && (text[i] == 'M' || text[i] == 'm')) value <<= 20;
    best = std::max(best, value);
  }
  return best;
}

}  // namespace lowdim
