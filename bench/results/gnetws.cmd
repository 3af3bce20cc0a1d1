bin/gnetws --listen 127.0.0.1:28080 --admin-listen 127.0.0.1:28081
