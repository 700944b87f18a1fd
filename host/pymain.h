/* pymain: host as the CPython interpreter. Started under a python name (the basename of
 * argv[0] is python, python3 or python3.N: the layer's bin/python3, make's build/python3
 * and make install's lib/host/python3 are links to host) or as `host --python ARGS`, host
 * runs CPython's own main on that command line: the same options (-c, -m, a script, -
 * for stdin, -I -S -E -B -u -W -X ...), messages and exit statuses as python3, with the
 * standard library found as host's own modes find it (interp_config_home: a layer's
 * lib/pythonX.Y). None of host's Lambda machinery runs, whatever the environment says
 * (AWS_LAMBDA_RUNTIME_API, _HANDLER), so a child started through sys.executable or by
 * multiprocessing is a plain Python. */
#ifndef HOST_PYMAIN_H
#define HOST_PYMAIN_H

/* 1 when this command line asks for the interpreter, else 0. */
int pymain_wanted(int argc, char **argv);

/* Runs CPython's main on the command line (without host's --python) and returns
 * python3's exit status. When start-up itself ends the process (--version, --help, a
 * usage error: 0, 0, 2; a fatal error: 1), this does not return, as in python3. */
int pymain_run(int argc, char **argv);

#endif
