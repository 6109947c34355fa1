"""`bifrost doctor` and `bifrost support-bundle`: the troubleshooting guide's checks, run from inside the pod."""
