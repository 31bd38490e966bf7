# libtern: the public API (include/tern/) as a shared library that exports nothing else, and the
# files that let other projects find it: a CMake package (find_package(tern), target tern::tern)
# and a pkg-config file. `cmake --install build --prefix P` puts them, the headers and the tern
# binary under P.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(tern_shared SHARED $<TARGET_OBJECTS:tern_api_objects>)
target_link_libraries(tern_shared PRIVATE tern_lib tern_hub tern_distributed)
target_include_directories(tern_shared INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                 $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(tern_shared INTERFACE cxx_std_20)
# Only tern::Model, tern::Session and the free functions of include/tern/ are visible: the engine
# inside may change without breaking programs built against the library.
set(TERN_EXPORT_MAP "${PROJECT_SOURCE_DIR}/src/api/libtern.map")
target_link_options(tern_shared PRIVATE "-Wl,--version-script=${TERN_EXPORT_MAP}")
set_target_properties(tern_shared PROPERTIES OUTPUT_NAME tern EXPORT_NAME tern VERSION ${PROJECT_VERSION}
                                             SOVERSION ${PROJECT_VERSION_MAJOR} LINK_DEPENDS "${TERN_EXPORT_MAP}")
add_library(tern::tern ALIAS tern_shared)

install(TARGETS tern RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS tern_shared EXPORT ternTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/tern DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ternTargets NAMESPACE tern:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tern)
configure_package_config_file(cmake/ternConfig.cmake.in "${PROJECT_BINARY_DIR}/ternConfig.cmake"
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tern)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/ternConfigVersion.cmake" COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/ternConfig.cmake" "${PROJECT_BINARY_DIR}/ternConfigVersion.cmake"
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tern)
file(RELATIVE_PATH TERN_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
configure_file(cmake/tern.pc.in "${PROJECT_BINARY_DIR}/tern.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/tern.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
