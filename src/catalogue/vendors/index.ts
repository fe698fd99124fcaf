// The shipped vendor files, validated when the gateway starts (Catalogue.shipped).
import { ANTHROPIC } from "./anthropic.js";
import { DASHSCOPE } from "./dashscope.js";
import { DEEPSEEK } from "./deepseek.js";
import { GEMINI } from "./gemini.js";
import { MOONSHOT } from "./moonshot.js";
import { OPENAI } from "./openai.js";
import { QIANFAN } from "./qianfan.js";
import { ZHIPU } from "./zhipu.js";

export const SHIPPED_VENDORS = [OPENAI, ANTHROPIC, GEMINI, DEEPSEEK, MOONSHOT, ZHIPU, QIANFAN, DASHSCOPE] as const;
