// Instruction-set levels and the runtime choice between them.
// Each kernel family keeps a table with one entry per Isa; `active_isa()` indexes it.
// The choice is made once (best level the CPU supports, or $LOWDIM_ISA) and can be
// changed later with set_active_isa(); it is the only global state besides settings.
#pragma once
#include <string>
#include <vector>

namespace lowdim {

enum class Isa : int { scalar = 0, avx2 = 1, count = 2 };

const char* isa_name(Isa isa);
// Levels this build contains *and* this CPU can run, worst to best.
std::vector<Isa> available_isas();
Isa active_isa();
// Returns false (and changes nothing) when `name` is unknown or not available.
bool set_active_isa(const std::string& name);

}  // namespace lowdim
