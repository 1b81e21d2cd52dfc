// The cache blocking around a per-ISA micro-kernel (BLIS loop order, Van Zee & van de
// Geijn 2015): depth in chunks of kKc so one B micro-panel (kKc × nr) stays in L1 while
// every A micro-panel of the block streams past it; C is accumulated across chunks.
// Included by each distance_<isa>.cpp inside an anonymous namespace, so every ISA gets
// its own copy compiled with its own flags (no ODR clash between the copies).
#pragma once
#include <cstddef>

constexpr std::size_t kKc = 256;

// Micro::run(a, b, kc, c, ldc, first): c[MR×NR] (+)= A-panel · B-panelᵀ over kc columns.
template <class T, std::size_t MR, std::size_t NR, class Micro>
void dot_block_impl(const T* pa, std::size_t ma, const T* pb, std::size_t nb, std::size_t d,
                    T* c, std::size_t ldc) {
  T tmp[MR * NR];
  for (std::size_t p0 = 0; p0 < d || p0 == 0; p0 += kKc) {
    const std::size_t kc = d - p0 < kKc ? d - p0 : kKc;
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
