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
// Micro::run_rows(a, off, b, kc, c, ldc, first): the same with row r of A read from
// a[p * NR + off[r]] (A stored in NR-wide panels like B).
//
// One skeleton for both layouts of A, told apart by AW, the width of A's panels:
//   AW == MR (dot_block): A packed in MR-row micro-panels, one contiguous run per tile.
//   AW == NR (dot_block_sym): A in the B layout; the self-search multiplies one packed copy
//   of X by itself, so no A block is repacked per tile. A micro-tile's MR rows may
//   straddle two panels: row i sits at pa + (i / NR) * NR * d + i % NR, stepping NR per
//   coordinate; rows past the padded panels read row i0 (their results are dropped).
// Each C entry is the same multiply-add chain in coordinate order in both, so the two
// layouts give identical bits.
template <class T, std::size_t MR, std::size_t NR, std::size_t AW, class Micro>
void dot_block_panels(const T* pa, std::size_t ma, const T* pb, std::size_t nb, std::size_t d,
                      T* c, std::size_t ldc) {
  static_assert(AW == MR || AW == NR, "A comes in MR-wide or in NR-wide panels");
  T tmp[MR * NR];
  const std::size_t depth = lowdim::tile_depth(NR * sizeof(T));
  const std::size_t rows_stored = (ma + AW - 1) / AW * AW;
  auto at = [&](std::size_t i) {
    return static_cast<std::ptrdiff_t>(i / AW * AW * d + i % AW);
  };
  for (std::size_t p0 = 0; p0 < d || p0 == 0; p0 += depth) {
    const std::size_t kc = d - p0 < depth ? d - p0 : depth;
    const bool first = p0 == 0;
    for (std::size_t j0 = 0; j0 < nb; j0 += NR) {
      const T* b = pb + j0 * d + p0 * NR;
      const std::size_t w = nb - j0 < NR ? nb - j0 : NR;
      for (std::size_t i0 = 0; i0 < ma; i0 += MR) {
        std::ptrdiff_t off[MR] = {};
        if constexpr (AW != MR)
          for (std::size_t r = 0; r < MR; ++r)
            off[r] = i0 + r < rows_stored ? at(i0 + r) - at(i0) : 0;
        const T* a = pa + at(i0) + p0 * AW;
        auto micro = [&](T* ct, std::size_t ld) {
          if constexpr (AW == MR)
            Micro::run(a, b, kc, ct, ld, first);
          else
            Micro::run_rows(a, off, b, kc, ct, ld, first);
        };
        const std::size_t h = ma - i0 < MR ? ma - i0 : MR;
        T* ct = c + i0 * ldc + j0;
        if (h == MR && w == NR) {
          micro(ct, ldc);
          continue;
        }
        // Tail tile: run the full micro-kernel on a scratch tile, keep the valid part.
        for (std::size_t r = 0; r < MR; ++r)
          for (std::size_t s = 0; s < NR; ++s)
            tmp[r * NR + s] = (!first && r < h && s < w) ? ct[r * ldc + s] : T(0);
        micro(tmp, NR);
        for (std::size_t r = 0; r < h; ++r)
          for (std::size_t s = 0; s < w; ++s) ct[r * ldc + s] = tmp[r * NR + s];
      }
    }
    if (d == 0) break;
  }
}

// pa: MR-wide micro-panels (pack_panels with w = MR).
template <class T, std::size_t MR, std::size_t NR, class Micro>
void dot_block_impl(const T* pa, std::size_t ma, const T* pb, std::size_t nb, std::size_t d,
                    T* c, std::size_t ldc) {
  dot_block_panels<T, MR, NR, MR, Micro>(pa, ma, pb, nb, d, c, ldc);
}

// pa: NR-wide panels, the layout of pb (see dot_block_panels).
template <class T, std::size_t MR, std::size_t NR, class Micro>
void dot_block_sym_impl(const T* pa, std::size_t ma, const T* pb, std::size_t nb,
                        std::size_t d, T* c, std::size_t ldc) {
  dot_block_panels<T, MR, NR, NR, Micro>(pa, ma, pb, nb, d, c, ldc);
}
