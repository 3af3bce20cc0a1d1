bin/wsgateprof --listen 127.0.0.1:28080 --admin-listen 127.0.0.1:28081 --cpuprofile bench/results/profiles/wsgate-echo.cpu.prof --memprofile bench/results/profiles/wsgate-echo.heap.prof
