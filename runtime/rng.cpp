// rng.h is header-only; this unit keeps the runtime library non-empty while it grows.
#include "runtime/rng.h"
