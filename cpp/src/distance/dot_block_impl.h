// The cache blocking around a per-ISA micro-kernel (BLIS loop order, Van Zee & van de
// Geijn 2015): depth in chunks of kc so one B micro-panel (kc × nr) stays in L1 while
// every A micro-panel of the block streams past it; C is accumulated across chunks.
// kc comes from the L1 size (tile_depth, distance.h). It never changes a bit: every
// entry of C is one chain of multiply-adds in coordinate order, only paused at a chunk
// end (stored to C and reloaded unchanged), so all depths give the same answer.
// Included by each distance_<isa>.cpp inside an anonymous namespace, so every ISA gets
// its own copy compiled with its own flags (no ODR clash between the copies).
#pragma once
#include <cstddef>

// Micro::run(a, b, kc, c, ldc, first): c[MR×NR] (+)= A-panel · B-panelᵀ over kc columns.
template <class T, std::size_t MR, std::size_t NR, class Micro>
void dot_block_impl(const T* pa, std::size_t ma, const T* pb, std::size_t nb, std::size_t d,
                    T* c, std::size_t ldc) {
  T tmp[MR * NR];
  const std::size_t depth = lowdim::tile_depth(NR * sizeof(T));
  for (std::size_t p0 = 0; p0 < d || p0 == 0; p0 += depth) {
    const std::size_t kc = d - p0 < depth ? d - p0 : depth;
    const bool first = p0 == 0;
    for (std::size_t j0 = 0; j0 < nb; j0 += NR) {
      const T* b = pb + j0 * d + p0 * NR;
      const std::size_t w = nb - j0 < NR ? nb - j0 : NR;
      for (std::size_t i0 = 0; i0 < ma; i0 += MR) {
        const T* a = pa + i0 * d + p0 * MR;
        const std::size_t h = ma - i0 < MR ? ma - i0 : MR;
        T* ct = c + i0 * ldc + j0;
        if (h == MR && w == NR) {
          Micro::run(a, b, kc, ct, ldc, first);
          continue;
        }
        // Tail tile: run the full micro-kernel on a scratch tile, keep the valid part.
        for (std::size_t r = 0; r < MR; ++r)
          for (std::size_t s = 0; s < NR; ++s)
            tmp[r * NR + s] = (!first && r < h && s < w) ? ct[r * ldc + s] : T(0);
        Micro::run(a, b, kc, tmp, NR, first);
        for (std::size_t r = 0; r < h; ++r)
          for (std::size_t s = 0; s < w; ++s) ct[r * ldc + s] = tmp[r * NR + s];
      }
    }
    if (d == 0) break;
  }
}
