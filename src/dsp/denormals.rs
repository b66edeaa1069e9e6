//! Denormal floats make IIR filter tails hundreds of times slower on x86. Setting FTZ/DAZ on the
//! audio thread makes them zero, which is inaudible (they are below −700 dBFS).

/// Set flush-to-zero and denormals-are-zero for the calling thread.
pub fn flush_to_zero() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_getcsr`/`_mm_setcsr` need SSE, which every x86_64 CPU has (it is part of the
    // target's baseline, enabled for all code of this crate). No memory is accessed: the call
    // only sets FTZ (bit 15) and DAZ (bit 6) of this thread's MXCSR, i.e. how its SSE unit treats
    // subnormal floats.
    #[allow(deprecated)]
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        _mm_setcsr(_mm_getcsr() | 0x8040);
    }
}
