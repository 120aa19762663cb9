# libwmss_torch: C++ on libtorch behind plain C functions (wmss_torch.h). Found through find_package(Torch):
# Debian's libtorch-dev (1.13, CPU) by default, or -DTorch_DIR=<libtorch>/share/cmake/Torch for another, e.g. the
# CUDA libtorch of a PyTorch wheel (scripts/build-cuda.sh finds it). One source tree for both; what differs between
# libtorch versions is in native/torch/compat.h, what differs between CPU and CUDA builds is which files are built
# (cuda_stats.cpp or cuda_stats_none.cpp) and the data-parallel backends found here.
set(WMSS_TORCH_TARGETS "")
option(WMSS_WITH_NCCL "Data parallel on CUDA through c10d's ProcessGroupNCCL when the libtorch found has it" ON)
option(WMSS_WITH_GLOO "Data parallel on CPUs through c10d's ProcessGroupGloo when gloo's headers are found" ON)

# c10d's NCCL process group exists only in CUDA builds of libtorch (not Debian's). The probe compiles (it does not
# link: a wheel's imported targets name dependencies, such as protobuf::libprotobuf, that exist only inside
# find_package's scope) a use of it with nccl.h from the system or the wheel's nvidia-nccl package.
function(wmss_check_nccl target)
  set(WMSS_HAVE_NCCL OFF)
  if(WMSS_WITH_NCCL AND WMSS_TORCH_CUDA)
    find_path(WMSS_NCCL_INCLUDE nccl.h
      HINTS "${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include" "${TORCH_INSTALL_PREFIX}/../nvidia/cu13/include"
            ${CUDAToolkit_INCLUDE_DIRS} /usr/include /usr/local/cuda/include)
    if(WMSS_NCCL_INCLUDE)
      include(CheckCXXSourceCompiles)
      set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
      set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS} ${CUDAToolkit_INCLUDE_DIRS} ${WMSS_NCCL_INCLUDE})
      set(CMAKE_REQUIRED_DEFINITIONS -DUSE_C10D_NCCL -DUSE_DISTRIBUTED)
      set(CMAKE_REQUIRED_FLAGS "${TORCH_CXX_FLAGS} -std=c++17")
      set(CMAKE_REQUIRED_QUIET ON)
      check_cxx_source_compiles([=[
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
int probe() { return c10d::ProcessGroupNCCL::Options::create()->is_high_priority_stream ? 1 : 0; }
]=] WMSS_TORCH_HAS_NCCL)
      set(WMSS_HAVE_NCCL ${WMSS_TORCH_HAS_NCCL})
    endif()
  endif()
  if(WMSS_HAVE_NCCL)
    target_include_directories(${target} PRIVATE ${WMSS_NCCL_INCLUDE})
    target_compile_definitions(${target} PRIVATE USE_C10D_NCCL WMSS_HAVE_NCCL)
  endif()
  set(WMSS_HAVE_NCCL ${WMSS_HAVE_NCCL} PARENT_SCOPE)
endfunction()

set(WMSS_HAVE_TORCH OFF)
set(WMSS_TORCH_INFO "not built")
if(WMSS_WITH_TORCH)
  find_package(Torch QUIET)
  if(Torch_FOUND)
    set(WMSS_HAVE_TORCH ON)
    # nlohmann/json (header-only): Debian's nlohmann-json3-dev, or a directory holding nlohmann/json.hpp named by
    # -DWMSS_NLOHMANN_INCLUDE (a GPU machine without apt: scripts/build-cuda.sh passes .deps/include when present)
    find_package(nlohmann_json 3 QUIET)
    if(NOT nlohmann_json_FOUND)
      find_path(WMSS_NLOHMANN_INCLUDE nlohmann/json.hpp HINTS ${WMSS_NLOHMANN_INCLUDE} "${CMAKE_SOURCE_DIR}/.deps/include")
      if(NOT WMSS_NLOHMANN_INCLUDE)
        message(FATAL_ERROR "wmss: nlohmann/json not found: install nlohmann-json3-dev, or copy its include/nlohmann "
                            "directory to .deps/include/ (or pass -DWMSS_NLOHMANN_INCLUDE=<dir with nlohmann/json.hpp>)")
      endif()
      add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
      set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${WMSS_NLOHMANN_INCLUDE}")
      message(STATUS "wmss: nlohmann/json from ${WMSS_NLOHMANN_INCLUDE}")
    endif()
    # A CUDA libtorch (a PyTorch wheel's): the device services that need CUDA's headers, NCCL.
    set(WMSS_TORCH_CUDA OFF)
    if(TORCH_CUDA_LIBRARIES)
      set(WMSS_TORCH_CUDA ON)
    endif()
    if(Torch_VERSION VERSION_GREATER_EQUAL 2.0 AND Torch_VERSION VERSION_LESS 2.4)
      message(FATAL_ERROR "wmss: libtorch ${Torch_VERSION} is not supported: use Debian's 1.13 or libtorch >= 2.4")
    endif()
    add_library(wmss_torch SHARED native/torch/ce_mix_ref.cpp native/torch/error.cpp native/torch/threads.cpp native/torch/durable.cpp native/torch/safetensors.cpp
                native/torch/model.cpp native/torch/model_api.cpp native/torch/device.cpp
                native/torch/fused_head.cpp native/torch/generate.cpp native/torch/perf.cpp native/torch/allocator.cpp
                native/torch/fused_ops.cpp native/torch/lean_ops.cpp native/torch/optim.cpp)
    if(WMSS_TORCH_CUDA)
      target_sources(wmss_torch PRIVATE native/torch/cuda_stats.cpp)
    else()
      target_sources(wmss_torch PRIVATE native/torch/cuda_stats_none.cpp)
    endif()
    target_include_directories(wmss_torch PUBLIC native/include)
    # libwmss: the one ce_mix implementation, which the fused head calls per chunk
    target_link_libraries(wmss_torch PRIVATE wmss ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
    target_compile_options(wmss_torch PRIVATE -O2 -Wall)
    # the fused ops' loops: vectorised per ISA (target_clones), no reassociation (explicit partial sums instead)
    set_source_files_properties(native/torch/fused_ops.cpp native/torch/optim.cpp PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno;-fno-trapping-math")
    target_link_options(wmss_torch PRIVATE -Wl,--no-undefined) # a missing symbol fails the build, not the JVM
    # A libtorch outside the system's library path (a wheel's torch/lib) is found through the RUNPATH.
    set(WMSS_TORCH_RPATH "$ORIGIN")
    if(NOT TORCH_INSTALL_PREFIX STREQUAL "/usr" AND EXISTS "${TORCH_INSTALL_PREFIX}/lib")
      set(WMSS_TORCH_RPATH "$ORIGIN;${TORCH_INSTALL_PREFIX}/lib")
    endif()
    set_target_properties(wmss_torch PROPERTIES BUILD_RPATH "${WMSS_TORCH_RPATH}" INSTALL_RPATH "${WMSS_TORCH_RPATH}")
    target_sources(wmss_torch PRIVATE native/torch/dist.cpp native/torch/dist_grads.cpp native/torch/zero.cpp) # data parallel (c10d)
    # Gloo: its headers are not in a PyTorch wheel, and Debian's gloo may not match a wheel's built-in one, so by
    # default only with the system's libtorch (or -DWMSS_GLOO_ANY_TORCH=ON).
    set(WMSS_HAVE_GLOO OFF)
    if(WMSS_WITH_GLOO AND (TORCH_INSTALL_PREFIX STREQUAL "/usr" OR WMSS_GLOO_ANY_TORCH))
      find_path(WMSS_GLOO_INCLUDE gloo/config.h)
      if(WMSS_GLOO_INCLUDE)
        set(WMSS_HAVE_GLOO ON)
        target_compile_definitions(wmss_torch PRIVATE USE_C10D_GLOO WMSS_HAVE_GLOO)
      endif()
    endif()
    wmss_check_nccl(wmss_torch)
    set(WMSS_TORCH_FLAVOUR cpu)
    if(WMSS_TORCH_CUDA)
      set(WMSS_TORCH_FLAVOUR cuda)
    endif()
    message(STATUS "wmss: libtorch ${Torch_VERSION} (${WMSS_TORCH_FLAVOUR}) found at ${TORCH_INSTALL_PREFIX}, building libwmss_torch;"
                   " data parallel: gloo ${WMSS_HAVE_GLOO}, nccl ${WMSS_HAVE_NCCL}")
    set(WMSS_TORCH_INFO "${WMSS_TORCH_FLAVOUR} ${Torch_VERSION}")
    list(APPEND WMSS_TORCH_TARGETS wmss_torch)
    list(APPEND WMSS_NATIVE_FILES libwmss_torch.so)
  else()
    message(WARNING "wmss: libtorch not found (install libtorch-dev or pass -DTorch_DIR); libwmss_torch not built")
  endif()
endif()
