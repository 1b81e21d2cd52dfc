// Counter-based random numbers: every value is a pure function of (seed, stream, index).
// SplitMix64's finaliser (Steele, Lea & Flood 2014) is applied to the key of a stream
// plus index·φ, which is exactly the SplitMix64 sequence started at that key. A random
// matrix therefore never needs storing: any thread regenerates entry (row, col) from the
// seed. python/lowdim/_rng.py is the bit-identical numpy twin (tested).
#pragma once
#include <cstdint>

namespace lowdim::rng {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;   // 2^64 / φ
constexpr std::uint64_t kStreamMul = 0xD1B54A32D192ED03ULL;

inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Key of one stream (e.g. one output row of a projection); compute once, reuse per index.
inline std::uint64_t stream_key(std::uint64_t seed, std::uint64_t stream) {
  return mix64(mix64(seed + kGolden) ^ (stream * kStreamMul + kGolden));
}

inline std::uint64_t bits(std::uint64_t key, std::uint64_t index) {
  return mix64(key + (index + 1) * kGolden);
}

// Uniform double in [0, 1) from the top 53 bits.
inline double uniform(std::uint64_t b) { return static_cast<double>(b >> 11) * 0x1.0p-53; }

}  // namespace lowdim::rng
