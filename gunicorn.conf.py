# gunicorn reads this file from its working directory (/app in the image) whatever its command line says.
# The access log names the client our proxies vouch for (TRUSTED_PROXY_COUNT), not the proxy.
logger_class = "smartcity.access_log.TrustedClientLogger"
