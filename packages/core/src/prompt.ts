/**
 * Domain-aware prompt learner (DAPL, Ge et al. 2022; LeapLabTHU/DAPrompt trainers/dapl.py
 * `PromptLearner`), on any `TextTower`.
 *
 * The prompt for domain d and class k is
 *
 *   [SOS] v_1 .. v_M  u^d_1 .. u^d_N  <tokens of the class suffix> [EOT]
 *
 * v: domain-agnostic context, one set [M, W] shared by all classes, or one per class [K, M, W]
 *    ("class-specific context", CSC; DAPL's TRAINER.DAPL.CSC);
 * u^d: domain-specific context, one set per domain [D, N, W], or per domain and class
 *    [D, K, N, W] with `domainCsc` (the released DAPL keeps it shared across classes);
 * class suffix: `classTemplate` with {class} (underscores as spaces) and {domain}, by default
 *    "{class}." as in DAPL's paper. DAPL's released trainer appends its domain words to the
 *    class, "{class} , a {domain} image..", which `classTemplate` can reproduce.
 *
 * Prompts are ordered domain-major, p = d * K + k, as in DAPL. Learned vectors are the only
 * tf.Variables; SOS, class tokens, punctuation, EOT and padding come from the tower's frozen token
 * embedding. Prompts are cut after the last EOT (L = max EOT index + 1); with a causal text
 * transformer the cut does not change the output.
 *
 * Initialisation (DAPL: nn.init.normal_(std=0.02) for both context sets): N(0, initStd^2), or,
 * with `ctxInit` words (e.g. "a photo of a"), their token embeddings. DAPL has no word
 * initialisation; CoOp, which it extends, replaces M by the number of words. Here M is kept:
 * the n words fill the last n of the M slots (next to the domain context and class name) and the
 * first M - n slots are random; more words than M is a config error.
 *
 * Prompts that begin alike (with CSC the domains' prompts of a class share [SOS] v_k; without it
 * a domain's prompts share [SOS] v u^d) have the same activations on those tokens under the
 * causal mask, so `textFeatures` has the tower compute them once per group (`sharing`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type Rng } from '@dampl/runtime';
import { l2Normalize } from './losses.js';
import type { TextTower } from './types.js';

export interface PromptOptions {
  /** M, domain-agnostic context length. */
  nCtx: number;
  /** N, domain-specific context length. */
  nDomainCtx: number;
  /** Class-specific domain-agnostic context. */
  csc: boolean;
  /** Class-specific domain context. */
  domainCsc: boolean;
  /** Words to initialise the domain-agnostic context from; '' for random. */
  ctxInit: string;
  /** Standard deviation of random initialisation. */
  initStd: number;
  /** Text after the learned vectors, with {class} and {domain}. */
  classTemplate: string;
}

/** Display form of a class or domain name in a prompt: underscores as spaces. */
const promptName = (name: string): string => name.replace(/_/g, ' ');

function fillTemplate(template: string, className: string, domainName = ''): string {
  return template.replaceAll('{class}', promptName(className)).replaceAll('{domain}', promptName(domainName));
}

export class PromptLearner {
  /** [M, W], or [K, M, W] with CSC. */
  readonly ctx: tf.Variable;
  /** [D, N, W], or [D, K, N, W] with domainCsc. */
  readonly domainCtx: tf.Variable;
  readonly K: number;
  readonly D: number;
  /** Prompt length after the cut. */
  readonly L: number;
  /** EOT position per prompt [D * K]. */
  readonly eot: number[];
  private readonly prefix: tf.Tensor3D; // (D*K, 1, W)
  private readonly suffix: tf.Tensor3D; // (D*K, L - 1 - M - N, W)

  constructor(
    readonly tower: TextTower,
    readonly classNames: readonly string[],
    readonly domainNames: readonly string[],
    readonly opts: PromptOptions,
    rng: Rng,
  ) {
    const { nCtx: M, nDomainCtx: N } = opts;
    const W = tower.config.text.width;
    const tok = tower.tokenizer;
    this.K = classNames.length;
    this.D = domainNames.length;
    if (this.K < 2) throw new ConfigError(`prompt learning needs at least 2 classes, got ${this.K}`);

    const suffixIds: number[][] = [];
    for (const d of domainNames) {
      for (const c of classNames) suffixIds.push([...tok.encode(fillTemplate(opts.classTemplate, c, d)), tok.eot]);
    }
    this.eot = suffixIds.map((s) => M + N + s.length);
    this.L = Math.max(...this.eot) + 1;
    const limit = tower.config.text.contextLength;
    if (this.L > limit) {
      const worst = this.eot.indexOf(this.L - 1);
      throw new ConfigError(`the prompt for class '${classNames[worst % this.K]}' in domain '${domainNames[Math.floor(worst / this.K)]}' needs ${this.L} tokens; the text tower takes ${limit}`,
        'lower nCtx or nDomainCtx, or shorten classTemplate');
    }
    const P = this.D * this.K;
    const S = this.L - 1 - M - N;
    const ids = new Int32Array(P * S);
    suffixIds.forEach((s, p) => ids.set(s, p * S));
    this.prefix = tf.tidy(() => this.tower.embedTokens(tf.fill([P, 1], tok.sot, 'int32') as tf.Tensor2D));
    this.suffix = tf.tidy(() => this.tower.embedTokens(tf.tensor2d(ids, [P, S], 'int32')));

    const words = opts.ctxInit.trim() ? tok.encode(opts.ctxInit) : [];
    if (words.length > M) {
      throw new ConfigError(`ctxInit '${opts.ctxInit}' has ${words.length} tokens but nCtx is ${M}`, `set nCtx >= ${words.length} or use fewer words`);
    }
    const ctxShape = opts.csc ? [this.K, M, W] : [M, W];
    const domShape = opts.domainCsc ? [this.D, this.K, N, W] : [this.D, N, W];
    const ctxInit = rng.normalArray(ctxShape.reduce((a, b) => a * b, 1), 0, opts.initStd);
    const domInit = rng.normalArray(domShape.reduce((a, b) => a * b, 1), 0, opts.initStd);
    this.ctx = tf.tidy(() => {
      let init = tf.tensor(ctxInit, ctxShape);
      if (words.length) {
        // the words' embeddings fill the last n slots of every context set, on the device
        const n = words.length;
        const emb = tf.reshape(this.tower.embedTokens(tf.tensor2d(words, [1, n], 'int32')), [1, n, W]); // [1, n, W]
        const sets = tf.reshape(init, [opts.csc ? this.K : 1, M, W]);
        const kept = tf.slice(sets, [0, 0, 0], [-1, M - n, W]);
        init = tf.reshape(tf.concat([kept, tf.tile(emb, [sets.shape[0], 1, 1])], 1), ctxShape);
      }
      return tf.variable(init, true);
    });
    this.domainCtx = tf.tidy(() => tf.variable(tf.tensor(domInit, domShape), true));
  }

  /** The trainable tensors by checkpoint name. */
  params(): Map<string, tf.Variable> {
    return new Map([['ctx', this.ctx], ['domain_ctx', this.domainCtx]]);
  }

  /** Overwrites the learned vectors (from a checkpoint). */
  load(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, v] of this.params()) {
      const data = values.get(name);
      if (!data) throw new ConfigError(`prompt state has no tensor '${name}'`);
      if (data.length !== v.size) {
        throw new ConfigError(`prompt tensor '${name}' has ${data.length} values, this learner needs ${v.size} [${v.shape.join(', ')}]`,
          'the checkpoint was made with other nCtx / nDomainCtx / csc settings, classes or model');
      }
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
  }

  /**
   * Prompt embeddings [D' * K, L, W] for the given domains (all by default), domain-major.
   *
   * One differentiable op with respect to the two context variables: the forward pass lays the
   * prompts out; the gradient reads the context columns of dy back and sums them over the prompts
   * that share a vector (over domains for v, over classes for u^d without domainCsc), without the
   * per-class tile, slice and add ops of a composed graph (130 of each per step at K = 65).
   */
  embeddings(domains: readonly number[] = range(this.D)): tf.Tensor3D {
    const { K } = this;
    const { nCtx: M, nDomainCtx: N, csc, domainCsc } = this.opts;
    const W = this.tower.config.text.width;
    const Dn = domains.length;
    const P = Dn * K;
    for (const d of domains) {
      if (!Number.isInteger(d) || d < 0 || d >= this.D) throw new ConfigError(`domain index ${d} is outside the learner's ${this.D} domains`);
    }
    const all = Dn === this.D && domains.every((d, i) => d === i);
    // frozen rows of the chosen domains: SOS [P, 1, W] and the class suffix [P, S, W]
    const rowsOf = (t: tf.Tensor3D): tf.Tensor3D => (all ? t : tf.concat(domains.map((d) => tf.slice(t, [d * K, 0, 0], [K, -1, -1])), 0));
    // the domain context of the chosen domains: [Dn, N, W], or [Dn, K, N, W] with domainCsc
    const pickDomains = (u: tf.Tensor): tf.Tensor => (all ? u
      : tf.concat(domains.map((d) => tf.slice(u, [d, ...u.shape.slice(1).map(() => 0)], [1, ...u.shape.slice(1)])), 0));
    const layout = tf.customGrad(((ctx: tf.Tensor, dom: tf.Tensor) => {
      const value = tf.tidy(() => {
        const v = tf.mul(tf.ones([Dn, csc ? 1 : K, 1, 1]), tf.reshape(ctx, [1, csc ? K : 1, M, W])); // [Dn, K, M, W]
        const u = domainCsc ? pickDomains(dom) : tf.mul(tf.ones([1, K, 1, 1]), tf.reshape(pickDomains(dom), [Dn, 1, N, W])); // [Dn, K, N, W]
        return tf.concat([rowsOf(this.prefix), tf.reshape(v, [P, M, W]), tf.reshape(u, [P, N, W]), rowsOf(this.suffix)], 1) as tf.Tensor3D;
      });
      return {
        value,
        gradFunc: (dy: tf.Tensor3D) => tf.tidy(() => {
          const dv = tf.reshape(tf.slice(dy, [0, 1, 0], [P, M, W]), [Dn, K, M, W]);
          const dctx = csc ? tf.sum(dv, 0) : tf.sum(dv, [0, 1]); // [K, M, W] or [M, W]
          const du = tf.reshape(tf.slice(dy, [0, 1 + M, 0], [P, N, W]), [Dn, K, N, W]);
          const dPicked = domainCsc ? du : tf.sum(du, 1); // [Dn, (K,) N, W]
          let ddom: tf.Tensor = dPicked;
          if (!all) {
            // back to the variable's domains: the sum of the rows that picked each, zeros elsewhere
            const one = dPicked.shape.slice(1);
            const row = (i: number) => tf.slice(dPicked, [i, ...one.map(() => 0)], [1, ...one]);
            ddom = tf.concat(range(this.D).map((d) => {
              const picked = domains.flatMap((e, i) => (e === d ? [row(i)] : []));
              return picked.length ? tf.addN(picked) : tf.zeros([1, ...one]);
            }), 0);
          }
          return [dctx, ddom];
        }),
      };
    }) as Parameters<typeof tf.customGrad>[0]);
    return layout(this.ctx, this.domainCtx) as tf.Tensor3D;
  }

  /** EOT positions for the prompts of `domains`, in `embeddings` order. */
  eotIndex(domains: readonly number[] = range(this.D)): number[] {
    return domains.flatMap((d) => this.eot.slice(d * this.K, (d + 1) * this.K));
  }

  /**
   * L2-normalised text features w_{d,k}: [D' * K, E], domain-major. Differentiable. Where the
   * prompts begin alike (see `sharing`) and the tower can, the shared first tokens go through the
   * text tower once per group (encodeTextShared): the same features, fewer tokens.
   */
  textFeatures(domains: readonly number[] = range(this.D)): tf.Tensor2D {
    return tf.tidy(() => {
      const emb = this.embeddings(domains);
      const eot = this.eotIndex(domains);
      const share = this.sharing(domains.length);
      if (!share || !this.tower.encodeTextShared) return l2Normalize(this.tower.encodeTextFromEmbeddings(emb, eot));
      const { groups, prefix: lp, branchMajor } = share;
      const [P, L, W] = emb.shape;
      const prefix = branchMajor || groups === 1
        ? tf.slice(emb, [0, 0, 0], [groups, lp, W]) // the first prompt of each group: prompts 0 .. G-1
        : tf.reshape(tf.slice(tf.reshape(emb, [groups, P / groups, L, W]), [0, 0, 0, 0], [groups, 1, lp, W]), [groups, lp, W]);
      const branches = tf.slice(emb, [0, lp, 0], [P, L - lp, W]);
      return l2Normalize(this.tower.encodeTextShared(prefix as tf.Tensor3D, branches, branchMajor, eot));
    });
  }

  /**
   * The first tokens that the prompts of `count` domains share, by group (with the causal text
   * transformer their activations are the same in every prompt of the group):
   *   CSC:                  [SOS] v_k, shared by the domains' prompts of class k (G = K);
   *   shared v and u^d:     [SOS] v u^d, shared by the classes of domain d (G = D');
   *   shared v, per-class u^d: [SOS] v, shared by every prompt (G = 1).
   * Undefined when no two prompts share them (CSC with one domain).
   */
  sharing(count: number): { groups: number; prefix: number; branchMajor: boolean } | undefined {
    const { nCtx: M, nDomainCtx: N, csc, domainCsc } = this.opts;
    if (csc) return count > 1 ? { groups: this.K, prefix: 1 + M, branchMajor: true } : undefined;
    if (!domainCsc) return { groups: count, prefix: 1 + M + N, branchMajor: false };
    return { groups: 1, prefix: 1 + M, branchMajor: false };
  }

  dispose(): void {
    this.ctx.dispose();
    this.domainCtx.dispose();
    this.prefix.dispose();
    this.suffix.dispose();
  }
}

/**
 * Zero-shot CLIP text features: for each template (e.g. "a photo of a {class}."), the normalised
 * text features of every class; averaged over templates and normalised again (CLIP's prompt
 * ensembling). [K, E]. No domain words: the zero-shot classifier is the same for every domain.
 */
export function zeroShotTextFeatures(tower: TextTower, classNames: readonly string[], templates: readonly string[]): tf.Tensor2D {
  if (!templates.length) throw new ConfigError('zero-shot templates: give at least one, e.g. "a photo of a {class}."');
  return tf.tidy(() => {
    const perTemplate = templates.map((t) => {
      const batch = tower.tokenizer.tokenize(classNames.map((c) => fillTemplate(t, c)), tower.config.text.contextLength);
      const L = Math.max(...batch.eot) + 1;
      const ids = tf.slice(tf.tensor2d(batch.ids, batch.shape, 'int32'), [0, 0], [-1, L]);
      return l2Normalize(tower.encodeTextFromEmbeddings(tower.embedTokens(ids as tf.Tensor2D), batch.eot));
    });
    const mean = perTemplate.length === 1 ? perTemplate[0]! : tf.mean(tf.stack(perTemplate), 0) as tf.Tensor2D;
    return l2Normalize(mean);
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
