import { expect } from "vitest";
import { requireTool, run, VENV_PYTHON } from "./client-harness.js";

/** No __pycache__ in the working tree. */
export const QUIET_PYTHON = { PYTHONDONTWRITEBYTECODE: "1" };

const REQUIREMENTS = "scripts/python-test-requirements.txt";

/** The project's venv, with the vendor SDK `module` installed from the pinned requirements when it is missing. */
export async function pythonWith(module: string): Promise<string> {
  const python = requireTool(VENV_PYTHON, "The project's Python environment", "npm run generate");
  if ((await run(python, ["-c", `import ${module}`], { env: QUIET_PYTHON })).code !== 0) {
    const install = await run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "-r", REQUIREMENTS]);
    expect(install.code, `could not install ${REQUIREMENTS}:\n${install.output}`).toBe(0);
  }
  return python;
}
