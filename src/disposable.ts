// Symbol.dispose for the types of TypeScript 5.0 and 5.1, and of any project whose `lib`
// lacks ESNext.Disposable: `Rmsprop` has a `[Symbol.dispose]()` member, and without this
// declaration its .d.ts does not compile there. TypeScript merges this with its own
// declaration (and @types/node's) where those exist. At run time rmsprop.ts falls back to
// Symbol.for("Symbol.dispose") on engines without the symbol.
export {};

declare global {
  interface SymbolConstructor {
    /** The method `using` calls at the end of its scope (ECMAScript explicit resource management). */
    readonly dispose: unique symbol;
  }
}
