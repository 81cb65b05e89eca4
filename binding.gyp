{
  # The only native code besides the LD_PRELOAD shim: thin syscall wrappers, no policy.
  "targets": [
    {
      "target_name": "ovsdpemu",
      "sources": [
        "native/addon.cc",
        "native/fd-watcher.cc",
        "native/seqpacket.cc",
        "native/tap.cc",
        "native/netns-id.cc",
        "native/packet-socket.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
