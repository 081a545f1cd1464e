{
  "targets": [
    {
      "target_name": "relaymesh_aead",
      "sources": ["native/aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
