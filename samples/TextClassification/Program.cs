Console.WriteLine("TextClassification sample: coming up.");
