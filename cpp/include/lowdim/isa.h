// Instruction-set levels and the runtime choice between them.
// Each kernel family keeps a table with one entry per Isa; `active_isa()` indexes it.
// The choice is made once (best level the CPU supports, or $LOWDIM_ISA) and can be
// changed later with set_active_isa(); it is the only global state besides settings.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace lowdim {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, count = 3 };

const char* isa_name(Isa isa);
// Levels this build contains (whatever the CPU), worst to best.
std::vector<Isa> compiled_isas();
// Levels this build contains *and* this CPU can run, worst to best.
std::vector<Isa> available_isas();
Isa active_isa();
inline bool isa_at_least(Isa level) { return static_cast<int>(active_isa()) >= static_cast<int>(level); }
// Row of a per-family kernel table whose newest entry is `newest`: a family without a
// kernel for the active level runs its best older one.
inline int isa_index(Isa newest) {
  const int active = static_cast<int>(active_isa());
  return active < static_cast<int>(newest) ? active : static_cast<int>(newest);
}
// Returns false (and changes nothing) when `name` is unknown or not available.
bool set_active_isa(const std::string& name);

// Bytes of cpu0's data (or unified) cache at `level` (1, 2, 3), or of its largest one for
// level 0, from sysfs: what one core's data can occupy (on AMD its CCX's L3, where
// sysconf's cpuid answer can be the whole socket's). 0 where sysfs does not say. Read on
// every call: callers keep the value they derive from it.
std::size_t data_cache_bytes(int level);

}  // namespace lowdim
