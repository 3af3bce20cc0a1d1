bin/wsgate --listen 127.0.0.1:28080 --admin-listen 127.0.0.1:28081 --log-level warn --max-msg-rate -1 --max-byte-rate -1 --ping-interval 1s
