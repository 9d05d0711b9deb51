#include "core/heap.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace clipdex {

void return_free_heap_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace clipdex
