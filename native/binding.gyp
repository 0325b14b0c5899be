{
  "targets": [
    {
      "target_name": "linksnap_fsat",
      "sources": ["fsat.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
