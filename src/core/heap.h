#pragma once

namespace clipdex {

// Hands the pages malloc holds free back to the system (glibc's malloc_trim; nothing elsewhere).
// Called once a model is loaded: the load converts every weight through transient buffers, and
// the pages they leave behind would otherwise stay in the process's RSS for its whole life.
void return_free_heap_memory();

}  // namespace clipdex
