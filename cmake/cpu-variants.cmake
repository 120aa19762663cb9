# The CPU kernels are compiled once per ISA; native/cpu/dispatch.c picks the best one at run time, so the
# library runs on any x86-64 and still uses AVX-512 where it exists.
set(WMSS_CPU_VARIANTS avx512bf16 avx512 avx2 sse2)
set(WMSS_MARCH_avx512bf16 -march=x86-64-v4 -mavx512bf16 -mprefer-vector-width=512)
set(WMSS_MARCH_avx512 -march=x86-64-v4 -mprefer-vector-width=512)
set(WMSS_MARCH_avx2 -march=x86-64-v3)
set(WMSS_MARCH_sse2 -march=x86-64)

# Each variant is an object library compiled once and linked into every flavour of libwmss (cpu, cuda).
function(wmss_add_cpu_variants target)
  foreach(v IN LISTS WMSS_CPU_VARIANTS)
    if(NOT TARGET wmss_cpu_${v})
      add_library(wmss_cpu_${v} OBJECT native/cpu/ce_mix_kernels.c)
      target_compile_definitions(wmss_cpu_${v} PRIVATE WMSS_VARIANT=${v})
      target_compile_options(wmss_cpu_${v} PRIVATE ${WMSS_MARCH_${v}} -O3)
      target_include_directories(wmss_cpu_${v} PRIVATE native/include)
      target_link_libraries(wmss_cpu_${v} PRIVATE OpenMP::OpenMP_C)
    endif()
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:wmss_cpu_${v}>)
  endforeach()
endfunction()
