// `make dev-down`: stops the operator and the shim `make dev` left running (the
// control plane keeps running; `make cluster-down` stops it and these).
import { devDir, stopDev } from "./supervisor.ts";

const stopped = await stopDev();
console.log(stopped.length ? `stopped ${stopped.join(", ")}` : `no dev operator or shim running (pid files in ${devDir()})`);
