# libwmss_torch: C++ on libtorch behind plain C functions (wmss_torch.h). Found through find_package(Torch):
# Debian's libtorch-dev by default, or -DTorch_DIR=<libtorch>/share/cmake/Torch for another (e.g. CUDA) build.
set(WMSS_TORCH_TARGETS "")
set(WMSS_HAVE_TORCH OFF)
if(WMSS_WITH_TORCH)
  find_package(Torch QUIET)
  if(Torch_FOUND)
    set(WMSS_HAVE_TORCH ON)
    find_package(nlohmann_json 3 REQUIRED)
    add_library(wmss_torch SHARED native/torch/ce_mix_ref.cpp native/torch/error.cpp native/torch/threads.cpp native/torch/durable.cpp native/torch/safetensors.cpp
                native/torch/model.cpp native/torch/model_api.cpp)
    target_include_directories(wmss_torch PUBLIC native/include)
    target_link_libraries(wmss_torch PRIVATE wmss ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
    target_compile_options(wmss_torch PRIVATE -O2 -Wall)
    target_link_options(wmss_torch PRIVATE -Wl,--no-undefined) # a missing symbol fails the build, not the JVM
    set_target_properties(wmss_torch PROPERTIES BUILD_RPATH "$ORIGIN" INSTALL_RPATH "$ORIGIN")
    list(APPEND WMSS_TORCH_TARGETS wmss_torch)
    list(APPEND WMSS_NATIVE_FILES libwmss_torch.so)
    message(STATUS "wmss: libtorch ${Torch_VERSION} found, building libwmss_torch")
  else()
    message(WARNING "wmss: libtorch not found (install libtorch-dev or pass -DTorch_DIR); libwmss_torch not built")
  endif()
endif()
